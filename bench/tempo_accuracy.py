#!/usr/bin/env python3
"""Tempo and first-bar-line accuracy of beatgen on a corpus made by `beatgen make-corpus`,
whose manifest.tsv holds each song's true tempo (every song starts on a bar line at 0 s; lo-fi
is laid back by 12 ms).

    bench/tempo_accuracy.py SONGS [BEATGEN]       (BEATGEN: default target/release/beatgen)

Runs `beatgen dataset-info SONGS --json` twice, with `--ignore-tempo-metadata` (the detector
only: make-corpus writes the tempo into every file name) and without, into a fresh cache each
time, and prints per genre and overall how many tempi are within 2% of the truth (and, in
brackets, how many more are off by a simple ratio: 1/2, 2, 2/3, 3/2):

- detector alone: each song's own best reading;
- with its genre: the reading chosen together with the genre folder's other songs (what the
  bar grid is cut at when no metadata is used);
- with metadata: the default, the tempo the file name declares, refined by the audio;

and how many first bar lines (with the genre's tempo) are within a 16th note of a true bar
line; after the table, for the songs whose first bar line is right, how many of their last bar
lines (on the grid of the detected tempo) still are, and how far at most the tempo's error
carried a last bar line from where its first one is (the drift over the song). A song that cannot be used (no steady tempo) counts as a miss. Needs only the Python
standard library; when librosa imports (run it with bench/.venv/bin/python, see bench/run.sh)
a column gives librosa's `feature.tempo` on the same files, for comparison, and when madmom
imports (bench/run.sh installs it) another gives madmom 0.16's RNN beat activations with its
tempo estimation (the strongest tempo), and a last column madmom's first bar lines (its RNN
downbeat activations decoded by its DBN downbeat tracker with 4 beats to the bar), graded as
beatgen's are; audio loaded by librosa at 44.1 kHz, since madmom needs ffmpeg for MP3, and
three shims for madmom 0.16 on Python 3.10+ and NumPy 1.24+."""
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

songs = sys.argv[1]
beatgen = sys.argv[2] if len(sys.argv) > 2 else "target/release/beatgen"


def info(*extra):
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([beatgen, "-q", "dataset-info", songs, "--json", "--cache", cache, *extra],
                             check=True, capture_output=True, text=True).stdout
    return {os.path.relpath(s["path"], songs): s for s in json.loads(out)["songs"]}


try:
    import librosa
except ImportError:
    librosa = None


def load_madmom():
    import collections
    import collections.abc
    for name in ("MutableSequence", "MutableMapping", "Sequence", "Iterable", "Mapping"):
        setattr(collections, name, getattr(collections.abc, name))
    import numpy as np
    for name, v in (("float", float), ("int", int), ("bool", bool), ("complex", complex)):
        if name not in np.__dict__:
            setattr(np, name, v)
    import inspect
    import textwrap
    import madmom
    import madmom.features.downbeats as downbeats
    from madmom.audio.signal import Signal
    from madmom.features.beats import RNNBeatProcessor
    from madmom.features.tempo import TempoEstimationProcessor
    # madmom 0.16's downbeat decoder picks its best bar length with np.asarray over a list of
    # (path, log probability) pairs, which NumPy 1.24+ refuses: the same choice, on the list.
    source = textwrap.dedent(inspect.getsource(downbeats.DBNDownBeatTrackingProcessor.process))
    fixed = {}
    exec(source.replace("np.asarray(results)[:, 1]", "[r[1] for r in results]"), downbeats.__dict__, fixed)
    downbeats.DBNDownBeatTrackingProcessor.process = fixed["process"]
    beats, tempo = RNNBeatProcessor(), TempoEstimationProcessor(fps=100)
    bar_activations = downbeats.RNNDownBeatProcessor()
    bars = downbeats.DBNDownBeatTrackingProcessor(beats_per_bar=[4], fps=100)

    def estimate(rel):
        """madmom's strongest tempo and its first downbeat (s, None if it finds none)."""
        y, _ = librosa.load(os.path.join(songs, rel), sr=44100)
        signal = Signal(y, sample_rate=44100)
        ones = [t for t, n in bars(bar_activations(signal)) if int(n) == 1]
        return float(tempo(beats(signal))[0][0]), (ones[0] if ones else None)

    return madmom.__version__, estimate


try:
    madmom_version, madmom_estimate = load_madmom() if librosa else (None, None)
except Exception:
    madmom_version, madmom_estimate = None, None


def librosa_tempo(rel):
    y, sr = librosa.load(os.path.join(songs, rel), sr=22050)
    return float(librosa.feature.tempo(y=y, sr=sr)[0])


truth = {row["path"]: row for row in csv.DictReader(open(os.path.join(songs, "manifest.tsv")), delimiter="\t")}
detector, with_meta = info("--ignore-tempo-metadata"), info()


def grade(tempo, bpm):
    if tempo and abs(tempo - bpm) / bpm < 0.02:
        return 1, 0
    if tempo and any(abs(tempo - k * bpm) / (k * bpm) < 0.02 for k in (0.5, 2, 2 / 3, 1.5)):
        return 0, 1
    return 0, 0


def near_a_bar_line(t, bar, lag):
    """Whether time `t` (s) is within a 16th of a bar line of the true grid (bars of `bar` s
    from `lag` s)."""
    err = (t - lag) % bar
    return min(err, bar - err) < bar / 16


# per genre: songs, then (ok, simple ratio) for alone, genre, metadata, then bar lines ok (of
# all the songs: one without bar lines is a miss), then (ok, simple ratio) for librosa and
# madmom, then madmom's first bar lines ok
rows = defaultdict(lambda: [0] * 13)
misses = []
drift = []  # (error of the last bar line, a 16th, bars after the first, drift), in seconds
for rel, t in sorted(truth.items()):
    g, bpm = t["genre"], float(t["bpm"])
    r = rows[g]
    r[0] += 1
    s, m = detector.get(rel, {}), with_meta.get(rel, {})
    readings = s.get("tempo_readings") or [{}]
    tempi = [readings[0].get("bpm"), s.get("tempo_bpm"), m.get("tempo_bpm")]
    if librosa:
        tempi.append(librosa_tempo(rel))
    bar = 240.0 / bpm
    lag = 0.012 if g == "lo-fi" else 0.0
    if madmom_estimate:
        madmom_bpm, madmom_first_bar = madmom_estimate(rel)
        tempi.append(madmom_bpm)
        if madmom_first_bar is not None and near_a_bar_line(madmom_first_bar, bar, lag):
            r[12] += 1
        else:
            misses.append(f"{rel} (madmom): first bar line at {madmom_first_bar} s ({bar:.3f} s bars)")
    for k, tempo in enumerate(tempi):
        ok, ratio = grade(tempo, bpm)
        col = [1, 3, 5, 8, 10][k]
        r[col] += ok
        r[col + 1] += ratio
        if not ok:
            what = ["detector alone", "with its genre", "with metadata", "librosa", "madmom"][k]
            misses.append(f"{rel} ({what}): {tempo} BPM for {bpm}")
    db = s.get("first_downbeat_seconds")
    if db is not None:
        if near_a_bar_line(db, bar, lag):
            r[7] += 1
            # The song's last bar line on the detected grid, against the true grid, and how far
            # the detected tempo moved it from where the first one is (signed errors).
            n = int((s["seconds"] - db) / (240.0 / s["tempo_bpm"]))
            signed = lambda t: (t - lag + bar / 2) % bar - bar / 2
            last = signed(db + n * 240.0 / s["tempo_bpm"])
            drift.append((abs(last), bar / 16, n, abs(last - signed(db))))
        else:
            misses.append(f"{rel}: first bar line at {db:.3f} s ({bar:.3f} s bars)")
    else:
        misses.append(f"{rel}: no bar lines (the song was not analysed: see dataset-info)")
extra = f" librosa {librosa.__version__} |" if librosa else ""
extra += f" madmom {madmom_version} |" if madmom_estimate else ""
after = f" first bar line: madmom {madmom_version} |" if madmom_estimate else ""
print(f"| genre | songs | tempo within 2%: detector alone | with its genre | with metadata |{extra} first bar line within a 16th |{after}")
print("|---|---:|---:|---:|---:|---:|" + ("---:|" if librosa else "") + ("---:|---:|" if madmom_estimate else ""))
total = [0] * 13
pair = lambda ok, ratio: f"{ok} ({ratio})" if ratio else f"{ok}"


def row(name, r):
    lib = f" {pair(r[8], r[9])} |" if librosa else ""
    lib += f" {pair(r[10], r[11])} |" if madmom_estimate else ""
    bars = f" {r[12]} |" if madmom_estimate else ""
    print(f"| {name} | {r[0]} | {pair(r[1], r[2])} | {pair(r[3], r[4])} | {pair(r[5], r[6])} |{lib} {r[7]} of {r[0]} |{bars}")


for g in sorted(rows):
    total = [a + b for a, b in zip(total, rows[g])]
    row(g, rows[g])
row("all", total)
if drift:
    held = sum(d[0] < d[1] for d in drift)
    print(f"\nlast bar line of each song whose first is right ({min(d[2] for d in drift)}-{max(d[2] for d in drift)} "
          f"bars later): {held} of {len(drift)} within a 16th; the detected tempo moves it at most "
          f"{1000 * max(d[3] for d in drift):.1f} ms from the first one's error")
for m in misses:
    print("miss:", m, file=sys.stderr)
