#!/usr/bin/env python3
"""How LAME's algorithm quality (-q) changes generated loops, to choose beatgen's setting.

Generates WAV loops with `beatgen spec-generate` (2 per genre of the model), encodes each with
the `lame` command-line encoder (LAME 3.100, the library beatgen builds) at 160 kb/s, beatgen's
rate for its 22.05 kHz output, for each -q, decodes it with `lame --decode` (which removes the
encoder delay) and compares it with the WAV: signal-to-noise ratio, log-spectral distance over
the bins within 60 dB of the loop's peak (n_fft 1024, hop 256) and the encoding time.

    bench/.venv/bin/python bench/mp3_quality.py [--model models/demo] [--q 0 2 3 5]

Needs the `lame` command (Debian package lame), numpy and soundfile.
"""
import argparse
import json
import pathlib
import subprocess
import tempfile
import time

import numpy as np
import soundfile as sf


def log_spec(x):
    win = np.hanning(1025)[:-1]
    frames = [x[i : i + 1024] * win for i in range(0, len(x) - 1024, 256)]
    return 20 * np.log10(np.abs(np.fft.rfft(np.array(frames), axis=1)) + 1e-6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beatgen", default="target/release/beatgen")
    ap.add_argument("--model", default="models/demo")
    ap.add_argument("--q", type=int, nargs="+", default=[0, 2, 3, 5])
    args = ap.parse_args()
    genres = json.loads(pathlib.Path(args.model, "config.json").read_text())["genres"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for g in genres:
            subprocess.run(
                [args.beatgen, "-q", "spec-generate", "--model", args.model, "--genre", g,
                 "--count", "2", "--format", "wav", "--out", str(tmp / g)],
                check=True, stdout=subprocess.DEVNULL)
        wavs = sorted(tmp.glob("*/*.wav"))
        print(f"{len(wavs)} generated loops of {', '.join(genres)}; lame -b 160")
        print("| -q | SNR dB (median, min) | log-spectral distance dB (median) | encoding ms per loop |")
        print("|---|---|---|---|")
        for q in args.q:
            snr, lsd, ms = [], [], []
            for w in wavs:
                x, _ = sf.read(w)
                mp3, dec = tmp / f"q{q}.mp3", tmp / f"q{q}.wav"
                t = time.perf_counter()
                subprocess.run(["lame", "--quiet", "-q", str(q), "-b", "160", str(w), str(mp3)], check=True)
                ms.append(1e3 * (time.perf_counter() - t))
                subprocess.run(["lame", "--quiet", "--decode", str(mp3), str(dec)], check=True)
                y, _ = sf.read(dec)
                y = y[: len(x)]
                snr.append(10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2)))
                X, Y = log_spec(x), log_spec(y)
                mask = X > X.max() - 60
                lsd.append(np.sqrt(np.mean((X - Y)[mask] ** 2)))
            print(f"| {q} | {np.median(snr):.2f}, {np.min(snr):.2f} | {np.median(lsd):.2f} | {np.median(ms):.0f} |")


if __name__ == "__main__":
    main()
