#!/usr/bin/env python3
"""How much of the true STFT bins the spectral detail recovers, in NumPy (librosa for decoding).

The same fit as beatgen's `src/detail.rs`, written independently: 1024-point frames every 256
samples at 22.05 kHz (zero padding), 128 mel bands (Slaney scale, triangles, each band the
weighted mean of its bins' power, in dB), the smooth inverse (each bin the triangle-weighted
mean of its bands' dB levels), and a ridge regression from a frame's band levels plus a
constant to each bin's residual (bin dB minus the smooth inverse), fitted on every frame of
the model's training songs (from its split.json) and measured on its held-out songs:

- the RMS error (dB) of the smooth inverse and of the smooth inverse plus the predicted
  residual against the true bins, averaged over frames and songs;
- their error in linear magnitude, `20 log10(||estimate - true|| / ||true||)` over each song
  (the spectral convergence Griffin-Lim reports, against the truth), averaged over songs;
- the median over songs of the median spectral flatness over frames (geometric over
  arithmetic mean of the power spectrum, as `beatgen eval` measures it) of the true bins,
  the smooth inverse and the detailed inverse.

Every level is clamped to -80..6 dB (0 dB = a full-scale sine), as beatgen's features and
renderer clamp them, so the comparison is with what the representation could reach. The
renormalisation beatgen applies after the residual is left out.

  bench/.venv/bin/python bench/detail_fit.py SONGS MODEL
"""
import json
import os
import sys

import librosa
import numpy as np

SR, NFFT, HOP, BANDS = 22050, 1024, 256, 128
RIDGE_DB2 = 1.0


def hz_to_mel(f):
    f = np.asarray(f, float)
    f_sp, logstep = 200 / 3, np.log(6.4) / 27
    return np.where(f < 1000, f / f_sp, 1000 / f_sp + np.log(np.maximum(f, 1e-9) / 1000) / logstep)


def mel_to_hz(m):
    m = np.asarray(m, float)
    f_sp, logstep = 200 / 3, np.log(6.4) / 27
    return np.where(m < 1000 / f_sp, m * f_sp, 1000 * np.exp(logstep * (m - 1000 / f_sp)))


def projection():
    bins = NFFT // 2 + 1
    edges = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(SR / 2), BANDS + 2))
    f = np.arange(bins) * SR / NFFT
    tri = np.zeros((BANDS, bins))
    for b in range(BANDS):
        lo, mid, hi = edges[b : b + 3]
        tri[b] = np.maximum(0, np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)))
        if tri[b].sum() == 0:
            tri[b, int(round(mid * NFFT / SR))] = 1
    forward = tri / tri.sum(1, keepdims=True)
    inverse = tri.T.copy()
    for k in range(bins):
        if inverse[k].sum() == 0:
            inverse[k, np.argmin(abs(edges[1:-1] - f[k]))] = 1
    return forward, inverse / inverse.sum(1, keepdims=True)


FORWARD, INVERSE = projection()


def bins_db(path):
    y, _ = librosa.load(path, sr=SR)
    mag = np.abs(librosa.stft(y, n_fft=NFFT, hop_length=HOP, center=True, pad_mode="constant"))
    return 20 * np.log10(np.maximum(mag.T / (NFFT / 4), 1e-10))


def bands_db(db):
    return 10 * np.log10(np.maximum((10 ** (db / 10)) @ FORWARD.T, 1e-20))


def flatness(db):
    p = 10 ** (db / 10) + 1e-12
    return np.median(np.exp(np.log(p).mean(1)) / p.mean(1))


def main():
    songs, model = sys.argv[1], sys.argv[2]
    split = json.load(open(os.path.join(model, "split.json")))
    xtx, xtr, n = 0, 0, 0
    for rel in split["train"]:
        db = np.clip(bins_db(os.path.join(songs, rel)), -80, 6)
        x = np.hstack([np.maximum(bands_db(db), -80), np.ones((len(db), 1))])
        r = db - x[:, :BANDS] @ INVERSE.T
        xtx, xtr, n = xtx + x.T @ x, xtr + x.T @ r, n + len(db)
    ridge = RIDGE_DB2 * n * np.eye(BANDS + 1)
    ridge[BANDS, BANDS] = 0
    w = np.linalg.solve(xtx + ridge, xtr)
    err = {"smooth": [], "detailed": []}
    linear = {"smooth": [], "detailed": []}
    flat = {"true": [], "smooth": [], "detailed": []}
    for rel in split["validation"]:
        truth = np.clip(bins_db(os.path.join(songs, rel)), -80, 6)
        x = np.maximum(bands_db(truth), -80)
        smooth = np.clip(x @ INVERSE.T, -80, 6)
        detailed = np.clip(smooth + np.hstack([x, np.ones((len(x), 1))]) @ w, -80, 6)
        for name, est in [("smooth", smooth), ("detailed", detailed)]:
            err[name].append(np.sqrt(((est - truth) ** 2).mean(1)).mean())
            e, t = 10 ** (est / 20), 10 ** (truth / 20)
            linear[name].append(20 * np.log10(np.linalg.norm(e - t) / np.linalg.norm(t)))
        for name, est in [("true", truth), ("smooth", smooth), ("detailed", detailed)]:
            flat[name].append(flatness(est))
    print(f"fitted on {n} frames of {len(split['train'])} training songs")
    print(
        "held-out songs: RMS error smooth %.2f dB, detailed %.2f dB"
        % (np.mean(err["smooth"]), np.mean(err["detailed"]))
    )
    print(
        "held-out songs: linear magnitude error smooth %.1f dB, detailed %.1f dB"
        % (np.mean(linear["smooth"]), np.mean(linear["detailed"]))
    )
    print(
        "median flatness: true %.5f, smooth %.5f, detailed %.5f"
        % tuple(np.median(flat[k]) for k in ["true", "smooth", "detailed"])
    )


if __name__ == "__main__":
    main()
