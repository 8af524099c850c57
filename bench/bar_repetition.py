#!/usr/bin/env python3
"""How much a bar repeats the bar before it: the correlation of the log-mel spectrograms
(64 bands, 1024/256 frames at 22050 Hz) of two consecutive bars, median per genre.

A beat loop repeats its pattern with variations; 1 is an exact copy, 0 unrelated bars. A model
whose latent only sets each step of the bar locally may lose the repetition; one that draws
the genre's average pattern may repeat more than real songs do.

    # generated: DIR/<genre>/*.wav, each loop exactly 2 bars (spec-generate --format wav)
    bench/.venv/bin/python bench/bar_repetition.py gen DIR
    # real: the held-out songs of MODEL (its split.json) in SONGS, with the tempo of each from
    # SONGS/manifest.tsv (make-corpus writes it); every pair of consecutive bars from a third
    # of a bar in
    bench/.venv/bin/python bench/bar_repetition.py real SONGS MODEL
"""
import csv
import glob
import json
import os
import sys

import librosa
import numpy as np

SR = 22050


def log_mel(y):
    s = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=64)
    return np.log(s + 1e-8)


def correlation(a, b):
    n = min(a.shape[1], b.shape[1])
    a, b = a[:, :n].ravel(), b[:, :n].ravel()
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def generated(root):
    per = {}
    for genre in sorted(os.listdir(root)):
        for f in sorted(glob.glob(os.path.join(root, genre, "*.wav"))):
            y, _ = librosa.load(f, sr=SR)
            half = len(y) // 2
            per.setdefault(genre, []).append(correlation(log_mel(y[:half]), log_mel(y[half:])))
    return per


def real(songs, model):
    held_out = json.load(open(os.path.join(model, "split.json")))["validation"]
    with open(os.path.join(songs, "manifest.tsv")) as f:
        bpm = {r["path"]: float(r["bpm"]) for r in csv.DictReader(f, delimiter="\t")}
    per = {}
    for path in held_out:
        y, _ = librosa.load(os.path.join(songs, path), sr=SR)
        bar = int(round(4 * 60 / bpm[path] * SR))
        for s in range(bar // 3, len(y) - 2 * bar, bar):
            c = correlation(log_mel(y[s : s + bar]), log_mel(y[s + bar : s + 2 * bar]))
            per.setdefault(path.split("/")[0], []).append(c)
    return per


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "gen":
        per = generated(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "real":
        per = real(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
    medians = {g: float(np.median(v)) for g, v in per.items()}
    cells = " ".join(f"{g} {m:.3f} ({len(per[g])})" for g, m in medians.items())
    print(f"{cells}; median of the genres {np.median(list(medians.values())):.3f}")


if __name__ == "__main__":
    main()
