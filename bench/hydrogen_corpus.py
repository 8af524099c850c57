#!/usr/bin/env python3
"""A test set of drum songs written by people, not by beatgen's genre grammars: the demo songs
of the Hydrogen drum machine (Debian packages `hydrogen` and `hydrogen-drumkits`), rendered by
its command-line exporter `h2cli` through their own sampled kits, each at five tempi around
the tempo its author set, with the author's swing and Hydrogen's humanisation of timing and
velocity (random at every render).

    bench/hydrogen_corpus.py OUT [--factors 0.85,0.92,1,1.08,1.16] [--max-bars 32] [--jobs 8]

Writes OUT/<song>/<song>-<k>.wav (44.1 kHz stereo, one folder per source song: its five
tempi) and OUT/manifest.tsv in the form `bench/tempo_accuracy.py` reads (path, genre, bpm).
The truth: every pattern of these songs is one 4/4 bar (192 ticks), so the bar lines are at
0 s and every 4 beats of the tempo written into the copy. File names carry no tempo, so the
"with metadata" column of `tempo_accuracy.py` is the genre's choice again.

An h2cli export mostly waits (one 23 s song took 24 s, 0.2 s of it on the processor; 20 at a
time, all 40 renders took 55 s), so the songs are rendered `--jobs` at a time, each cut to its
first `--max-bars` bars."""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import wave
import xml.etree.ElementTree as ET

from rendered_corpus import render_all

DATA = "/usr/share/hydrogen/data"

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--factors", default="0.85,0.92,1,1.08,1.16")
p.add_argument("--max-bars", type=int, default=32)
p.add_argument("--jobs", type=int, default=8)
args = p.parse_args()
factors = [float(f) for f in args.factors.split(",")]
sources = sorted(glob.glob(f"{DATA}/demo_songs/*.h2song") + glob.glob(f"{DATA}/drumkits/*/*.h2song"))
if not sources:
    sys.exit(f"no Hydrogen songs under {DATA}: apt-get install hydrogen hydrogen-drumkits")
os.makedirs(args.out, exist_ok=True)
work = tempfile.mkdtemp(prefix="h2songs-")


def plan(src):
    """The renders of one source song: (copy of the song, output path, row of the manifest)."""
    root = ET.parse(src).getroot()
    sizes = {p.findtext("size") for p in root.find("patternList").findall("pattern")}
    if sizes != {"192"}:
        print(f"skipped {src}: patterns of {sizes} ticks, not one 4/4 bar", file=sys.stderr)
        return []
    seq = root.find("patternSequence")
    for g in seq.findall("group")[args.max_bars:]:
        seq.remove(g)
    root.find("loopEnabled").text = "false"
    name = os.path.splitext(os.path.basename(src))[0].lower().replace("_", "-")
    bpm0 = float(root.findtext("bpm"))
    kit = root.findtext(".//drumkit_name") or root.findtext(".//drumkit") or ""
    jobs = []
    for k, f in enumerate(factors, 1):
        bpm = round(bpm0 * f, 1)
        root.find("bpm").text = f"{bpm:g}"
        song = os.path.join(work, f"{name}-{k}.h2song")
        ET.ElementTree(root).write(song, encoding="UTF-8", xml_declaration=True)
        rel = f"{name}/{name}-{k}.wav"
        row = {"path": rel, "genre": name, "bpm": bpm, "swing": root.findtext("swing_factor"),
               "humanize_time": root.findtext("humanize_time"), "kit": kit,
               "source": os.path.basename(src)}
        jobs.append((song, os.path.join(args.out, rel), row))
    return jobs


def render(numbered):
    """Renders one song with its own settings: h2cli opens an OSC server on the port of its
    settings (also when OSC is off), and two on one port make the second abort."""
    n, (song, out, row) = numbered
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part.wav"
    home = tempfile.mkdtemp(dir=work)
    os.makedirs(f"{home}/.hydrogen")
    conf = open(f"{DATA}/hydrogen.default.conf").read()
    with open(f"{home}/.hydrogen/hydrogen.conf", "w") as f:
        f.write(conf.replace("<oscServerPort>9000<", f"<oscServerPort>{19000 + n}<"))
    env = dict(os.environ, HOME=home)
    try:
        r = subprocess.run(["h2cli", "-s", song, "-o", tmp], env=env, capture_output=True,
                           text=True, timeout=900)
        failed = r.returncode != 0 or not os.path.exists(tmp)
        why = r.stderr[-300:].strip()
    except subprocess.TimeoutExpired:
        failed, why = True, "no output in 900 s"
    if failed:
        # One song that h2cli cannot render costs that song, not the others' renders.
        print(f"skipped {row['source']} at {row['bpm']} BPM: h2cli failed: {why}", file=sys.stderr)
        if os.path.exists(tmp):
            os.remove(tmp)
        return None
    with wave.open(tmp) as w:
        row["seconds"] = round(w.getnframes() / w.getframerate(), 2)
        row["sample_rate"] = w.getframerate()
        silent = not any(w.readframes(w.getnframes()))
    if silent:
        # Hydrogen 1.2 cannot load the kit of some older songs (the Colombo kit's demo) and
        # renders them silent.
        os.remove(tmp)
        print(f"skipped {row['source']} at {row['bpm']} BPM: h2cli rendered silence", file=sys.stderr)
        return None
    os.replace(tmp, out)
    return row


jobs = [j for s in sources for j in plan(s)]
rows = render_all(enumerate(jobs), render, args.jobs, args.out, "h2cli")
print(f"{len(rows)} songs from {len({r['source'] for r in rows})} Hydrogen songs in {args.out}")
