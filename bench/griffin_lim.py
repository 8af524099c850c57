"""Griffin-Lim peer comparison on the DSP work unit (a 3.0 s clip at 22050 Hz, see README).

Same clip, same parameters (n_fft 1024, hop 256, periodic Hann, centred frames, momentum 0.99,
random initial phase), 2 threads, for 32 and 100 iterations, with each padding of the centred
edge frames for every peer (zero: librosa's and beatgen's default; reflect: PyTorch's):
  - librosa.griffinlim
  - a PyTorch Griffin-Lim written with torch.stft/torch.istft (torchaudio's algorithm)
  - beatgen (`beatgen resynth --json`, its own timer around Griffin-Lim only)
Every peer's output is scored the same way here: SC = 20 log10(||S - |STFT(y)||| / ||S||).
Times are medians of --repeat runs after one warm-up. Run through bench/run.sh.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np

N_FFT, HOP, SR, MOMENTUM = 1024, 256, 22050, 0.99


def work_unit_clip(seconds=3.0, seed=0):
    """A 3 s synthetic beat at 22050 Hz: pitched-down kicks, noise hats, a soft chord."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    beat = (t * 2.0) % 1.0 / 2.0
    eighth = (t * 4.0) % 1.0 / 4.0
    kick = np.sin(2 * np.pi * (50 + 120 * np.exp(-beat * 40)) * beat) * np.exp(-beat * 10)
    hat = rng.uniform(-1, 1, t.size) * np.exp(-eighth * 60) * 0.3
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    return (0.6 * kick + hat + 0.05 * chord).astype(np.float32)


def sc_db(S, y, pad):
    import librosa
    X = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True, pad_mode=pad))
    return float(20 * np.log10(np.linalg.norm(S - X) / np.linalg.norm(S)))


def timed(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def torch_griffinlim(S, n_iter, length, pad, seed=0):
    """torchaudio.functional.griffinlim, written out (torchaudio is not needed)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    window = torch.hann_window(N_FFT)
    angles = torch.rand(S.shape, dtype=torch.cfloat, generator=g)
    tprev = torch.tensor(0.0, dtype=torch.cfloat)
    for _ in range(n_iter):
        inverse = torch.istft(S * angles, N_FFT, HOP, window=window, length=length)
        rebuilt = torch.stft(inverse, N_FFT, HOP, window=window, center=True, pad_mode=pad,
                             normalized=False, onesided=True, return_complex=True)
        angles = rebuilt
        if MOMENTUM:
            angles = angles - tprev.mul_(MOMENTUM / (1 + MOMENTUM))
        angles = angles.div(angles.abs().add(1e-16))
        tprev = rebuilt
    return torch.istft(S * angles, N_FFT, HOP, window=window, length=length)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beatgen", required=True)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json-out")
    args = ap.parse_args()

    import librosa, soundfile, torch
    torch.set_num_threads(2)
    y = work_unit_clip()
    tmp = tempfile.mkdtemp()
    clip = os.path.join(tmp, "clip.wav")
    soundfile.write(clip, y, SR, subtype="FLOAT")

    rows = []
    # numpy/librosa/torch call zero padding "constant"; beatgen calls it "zero".
    for pad, ours_pad in (("constant", "zero"), ("reflect", "reflect")):
        S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True, pad_mode=pad))
        St = torch.from_numpy(S)
        for iters in (32, 100):
            t, out = timed(lambda: librosa.griffinlim(S, n_iter=iters, hop_length=HOP, n_fft=N_FFT,
                                                      momentum=MOMENTUM, init="random", random_state=0,
                                                      center=True, pad_mode=pad, length=len(y)),
                           args.repeat)
            rows.append(("librosa " + librosa.__version__, ours_pad, iters, "random", t, sc_db(S, out, pad)))
            with torch.no_grad():
                t, out = timed(lambda: torch_griffinlim(St, iters, len(y), pad), args.repeat)
            rows.append(("pytorch " + torch.__version__.split("+")[0], ours_pad, iters, "random", t, sc_db(S, out.numpy(), pad)))
            for init in ("random", "pghi"):
                out_path = os.path.join(tmp, f"out_{iters}_{init}.wav")
                res = subprocess.run([args.beatgen, "--threads", "2", "resynth", clip, out_path, "--iters", str(iters),
                                      "--init", init, "--pad", ours_pad, "--repeat", str(args.repeat), "--json"],
                                     check=True, capture_output=True, text=True)
                report = json.loads(res.stdout)
                out, _ = soundfile.read(out_path, dtype="float32")
                rows.append(("beatgen", ours_pad, iters, init, report["gl_seconds"], sc_db(S, out, pad)))

    print(f"Griffin-Lim on the DSP work unit: 3.0 s at {SR} Hz, n_fft {N_FFT}, hop {HOP}, momentum {MOMENTUM}, "
          f"2 threads, median of {args.repeat}; SC computed with the padding the row used")
    print()
    print("| implementation | padding | iterations | init | time | SC (dB) | beatgen (random, same padding) is faster by |")
    print("|---|---|---:|---|---:|---:|---:|")
    ours = {(r[1], r[2]): r[4] for r in rows if r[0] == "beatgen" and r[3] == "random"}
    default = {"librosa": "zero", "pytorch": "reflect", "beatgen": "zero"}
    for name, pad, iters, init, t, sc in rows:
        mark = " (default)" if default[name.split()[0]] == pad else ""
        ratio = "" if name == "beatgen" else f"{t / ours[(pad, iters)]:.1f}x"
        print(f"| {name} | {pad}{mark} | {iters} | {init} | {t * 1000:.1f} ms | {sc:.2f} | {ratio} |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump([dict(zip(("impl", "padding", "iterations", "init", "seconds", "sc_db"), r)) for r in rows], f, indent=1)


if __name__ == "__main__":
    main()
