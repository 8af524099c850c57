#!/usr/bin/env python3
"""Tempo and first-bar-line accuracy of beatgen on a corpus made by `beatgen make-corpus`,
whose manifest.tsv holds each song's true tempo (every song starts on a bar line at 0 s; lo-fi
is laid back by 12 ms).

    bench/tempo_accuracy.py SONGS [BEATGEN]       (BEATGEN: default target/release/beatgen)

Runs `beatgen dataset-info SONGS --json` and prints, per genre and overall, how many tempi are
within 2% of the truth (and how many are off by a simple ratio: 1/2, 2, 2/3, 3/2) and how many
first bar lines are within a 16th note of a true bar line. Needs only the Python standard
library."""
import csv
import json
import os
import subprocess
import sys
from collections import defaultdict

songs = sys.argv[1]
beatgen = sys.argv[2] if len(sys.argv) > 2 else "target/release/beatgen"
info = json.loads(subprocess.run([beatgen, "-q", "dataset-info", songs, "--json"],
                                 check=True, capture_output=True, text=True).stdout)
truth = {row["path"]: row for row in csv.DictReader(open(os.path.join(songs, "manifest.tsv")), delimiter="\t")}
rows = defaultdict(lambda: [0, 0, 0, 0, 0])  # songs, tempo ok, simple ratio, bar line ok, bar lines found
misses = []
for s in info["songs"]:
    rel = os.path.relpath(s["path"], songs)
    t = truth.get(rel)
    if t is None:
        continue
    g, bpm = t["genre"], float(t["bpm"])
    r = rows[g]
    r[0] += 1
    tempo = s.get("tempo_bpm")
    if tempo and abs(tempo - bpm) / bpm < 0.02:
        r[1] += 1
    elif tempo and any(abs(tempo - k * bpm) / (k * bpm) < 0.02 for k in (0.5, 2, 2 / 3, 1.5)):
        r[2] += 1
        misses.append(f"{rel}: {tempo:.1f} BPM for {bpm}")
    else:
        misses.append(f"{rel}: {tempo} BPM for {bpm}")
    db = s.get("first_downbeat_seconds")
    if db is not None:
        r[4] += 1
        bar = 240.0 / bpm
        err = (db - (0.012 if g == "lo-fi" else 0.0)) % bar
        if min(err, bar - err) < bar / 16:
            r[3] += 1
        else:
            misses.append(f"{rel}: first bar line at {db:.3f} s ({bar:.3f} s bars)")
print("| genre | songs | tempo within 2% | at a simple ratio | first bar line within a 16th |")
print("|---|---:|---:|---:|---:|")
total = [0] * 5
for g in sorted(rows):
    r = rows[g]
    total = [a + b for a, b in zip(total, r)]
    print(f"| {g} | {r[0]} | {r[1]} | {r[2]} | {r[3]} of {r[4]} |")
print(f"| all | {total[0]} | {total[1]} | {total[2]} | {total[3]} of {total[4]} |")
for m in misses:
    print("miss:", m, file=sys.stderr)
