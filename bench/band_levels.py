#!/usr/bin/env python3
"""Band levels and flatness of generated loops against a model's training and held-out songs.

For one genre (or `all`: every genre's songs pooled): the mean dB level of 8 mel bands (128 mel bands of 1024-point frames every
256 samples at 22.05 kHz, averaged in groups of 16, as `beatgen eval`'s clip features group
them) over generated WAV or MP3 files, over 4 s excerpts of the genre's training songs and
over the same excerpts of its held-out songs (from the model's split.json). Prints each mean
and the differences from the training songs in units of their spread (standard deviation
across excerpts), so that a gap between generated and held-out clips can be told apart from
a gap between the held-out songs and the training songs. Also the median over excerpts of
the median spectral flatness over frames (geometric over arithmetic mean of the power
spectrum, as `beatgen eval` measures it).

  bench/.venv/bin/python bench/band_levels.py MODEL SONGS GENRE|all GENERATED_DIR

GENERATED_DIR is searched recursively for .wav and .mp3 files (for `all`, one folder per genre
below it, as `spec-generate --out DIR/GENRE` writes them).
"""
import glob
import json
import sys

import librosa
import numpy as np

SR = 22050
EXCERPT_S = 4.0
EXCERPTS_PER_SONG = 6


def bands(y):
    """The 8 band means (dB) and the median flatness of one clip."""
    power = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=SR, n_mels=128, fmax=SR / 2)
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    p = power + 1e-12
    flatness = np.exp(np.log(p).mean(axis=0)) / p.mean(axis=0)
    return np.append(db.reshape(8, 16, -1).mean(axis=1).mean(axis=1), np.median(flatness))


def excerpts(path):
    y, _ = librosa.load(path, sr=SR)
    n = int(EXCERPT_S * SR)
    starts = [int((i + 1) * len(y) / (EXCERPTS_PER_SONG + 2)) for i in range(EXCERPTS_PER_SONG)]
    return [bands(y[s:s + n]) for s in starts if s + n <= len(y)]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    model, songs, genre, generated = sys.argv[1:]
    split = json.load(open(f"{model}/split.json"))
    mine = lambda names: [f for f in names if genre == "all" or f.split("/")[0] == genre]
    train = np.array([b for f in mine(split["train"]) for b in excerpts(f"{songs}/{f}")])
    held = np.array([b for f in mine(split["validation"]) for b in excerpts(f"{songs}/{f}")])
    files = sorted(
        glob.glob(f"{generated}/**/*.wav", recursive=True)
        + glob.glob(f"{generated}/**/*.mp3", recursive=True)
    )
    gen = np.array([bands(librosa.load(f, sr=SR)[0]) for f in files])
    if len(train) < 2 or len(held) == 0 or len(gen) == 0:
        sys.exit(f"need training and held-out songs of {genre} and generated files")
    flat = {name: np.median(v[:, 8]) for name, v in [("training", train), ("held-out", held), ("generated", gen)]}
    train, held, gen = train[:, :8], held[:, :8], gen[:, :8]
    sd = train.std(axis=0)
    row = lambda name, v: print(f"| {name} | " + " | ".join(f"{x:.1f}" for x in v) + " |")
    print(f"{genre}: {len(train)} training excerpts, {len(held)} held-out, {len(gen)} generated")
    print("| | " + " | ".join(f"band {i + 1}" for i in range(8)) + " |")
    print("|---|" + "---:|" * 8)
    row("training songs (dB)", train.mean(axis=0))
    row("held-out songs (dB)", held.mean(axis=0))
    row("generated (dB)", gen.mean(axis=0))
    row("held-out - training (SDs)", (held.mean(axis=0) - train.mean(axis=0)) / sd)
    row("generated - training (SDs)", (gen.mean(axis=0) - train.mean(axis=0)) / sd)
    print("median flatness: " + ", ".join(f"{k} {v:.5f}" for k, v in flat.items()))


if __name__ == "__main__":
    main()
