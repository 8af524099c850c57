#!/usr/bin/env python3
"""Share of preprocessing that tempo and bar-line detection takes, on the bundled songs as they
are (mono MP3s, half at 22050 Hz and half at 44100 Hz) and on the same songs as most music
arrives (44.1 kHz stereo MP3, made here with librosa and soundfile: resampled, the right
channel at 0.9 times the left).

    bench/run.sh detection_share     (or: bench/.venv/bin/python bench/detection_share.py)

Runs `beatgen dataset-info SONGS --cache FRESH` three times per folder and prints the
`analysis time` line's thread-seconds: decode (and resample), tempo and bar lines, examples.
The detector works on the decoded signal at the model's rate, so its time is the same for
both folders; decoding and resampling 44.1 kHz stereo costs more."""
import argparse
import glob
import json
import os
import re
import subprocess
import tempfile

import librosa
import numpy as np
import soundfile as sf

ap = argparse.ArgumentParser()
ap.add_argument("--beatgen", default="target/release/beatgen")
ap.add_argument("--songs", default="songs")
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--json-out")
args = ap.parse_args()

LINE = re.compile(r"decode ([0-9.]+) s, tempo and bar lines ([0-9.]+) s \(([0-9.]+)%\), examples ([0-9.]+) s")


def timings(folder):
    with tempfile.TemporaryDirectory() as cache:
        err = subprocess.run([args.beatgen, "dataset-info", folder, "--cache", cache],
                             check=True, capture_output=True, text=True)
    m = LINE.search(err.stdout + err.stderr)
    if not m:
        raise SystemExit(f"no analysis time line from dataset-info {folder}")
    return dict(zip(("decode_s", "detect_s", "share_pct", "examples_s"), map(float, m.groups())))


with tempfile.TemporaryDirectory() as tmp:
    stereo = os.path.join(tmp, "songs-44k-stereo")
    for path in sorted(glob.glob(os.path.join(args.songs, "*", "*.mp3"))):
        y, _ = librosa.load(path, sr=44100, mono=True)
        out = os.path.join(stereo, os.path.relpath(path, args.songs))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        sf.write(out, np.stack([y, 0.9 * y], axis=1), 44100, format="MP3")
    rows = []
    for name, folder in (("bundled (mono, 22050 and 44100 Hz)", args.songs), ("the same at 44.1 kHz stereo", stereo)):
        runs = [timings(folder) for _ in range(args.runs)]
        rows.append({"songs": name, "runs": runs})

span = lambda runs, k, f: f"{min(r[k] for r in runs):{f}}-{max(r[k] for r in runs):{f}}"
print("| songs | decode s | tempo and bar lines s | share | examples s |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    rs = r["runs"]
    print(f"| {r['songs']} | {span(rs, 'decode_s', '.2f')} | {span(rs, 'detect_s', '.2f')} | "
          f"{span(rs, 'share_pct', '.1f')}% | {span(rs, 'examples_s', '.2f')} |")
if args.json_out:
    with open(args.json_out, "w") as f:
        json.dump(rows, f, indent=1)
