#!/usr/bin/env python3
"""Drum transcription against the synthesiser's true notes: precision, recall and F1 within
30 ms per part (kick, snare, hat, bass), per genre and overall, as a Markdown table.

    python3 bench/transcription_accuracy.py [--soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2]
        [--onsets W.safetensors]

Writes a corpus with `beatgen make-corpus --midi` (8 songs of 24 s per genre, seed 1: the
bundled songs/; with --soundfont, rendered through that SoundFont) into a temporary folder,
runs `beatgen transcribe SONG OUT.mid --truth SONG.mid --json` on every song and sums the
counts. Needs only the Python standard library and a release build (cargo build --release).
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEATGEN = ROOT / "target" / "release" / "beatgen"
PARTS = ["kick", "snare", "hat", "bass"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soundfont")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--per-genre", default="8")
    ap.add_argument("--onsets", help="onset network weights (default: the ones beatgen ships)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "songs"
        cmd = [str(BEATGEN), "make-corpus", str(corpus), "--midi", "--seed", args.seed,
               "--per-genre", args.per_genre]
        if args.soundfont:
            cmd += ["--soundfont", args.soundfont]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        totals = {}
        on_grid = []
        for song in sorted(corpus.glob("*/*.mp3")):
            out = subprocess.run(
                [str(BEATGEN), "transcribe", str(song), str(pathlib.Path(tmp) / "t.mid"),
                 "--truth", str(song.with_suffix(".mid")), "--json"]
                + (["--onsets", args.onsets] if args.onsets else []),
                check=True, capture_output=True, text=True).stdout
            j = json.loads(out)
            on_grid.append(j["on_grid"])
            genre = song.parent.name
            for part in PARTS:
                for key in (genre, "all"):
                    t = totals.setdefault(key, {}).setdefault(part, [0, 0, 0])
                    c = j["score"][part]
                    t[0] += c["hits"]
                    t[1] += c["extra"]
                    t[2] += c["missed"]
    source = f"SoundFont {pathlib.Path(args.soundfont).name}" if args.soundfont else "built-in synthesiser"
    print(f"Transcription of {source} songs (seed {args.seed}, {args.per_genre} per genre) "
          "against their notes, within 30 ms: F1 (precision / recall)\n")
    print("| genre | " + " | ".join(PARTS) + " |")
    print("|---|" + "---|" * len(PARTS))
    for genre in sorted(k for k in totals if k != "all") + ["all"]:
        cells = []
        for part in PARTS:
            h, e, m = totals[genre][part]
            p = h / (h + e) if h + e else 1.0
            r = h / (h + m) if h + m else 1.0
            f = 2 * h / (2 * h + e + m) if h + e + m else 1.0
            cells.append(f"{f:.2f} ({p:.2f} / {r:.2f})")
        name = "**all**" if genre == "all" else genre
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nDrum hits within a quarter of a 16th of the detected grid: "
          f"{100 * sum(on_grid) / len(on_grid):.0f}% (mean over songs)")


if __name__ == "__main__":
    sys.exit(main())
