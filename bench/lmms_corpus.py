#!/usr/bin/env python3
"""A test set of whole songs written by people: the demo projects that come with the LMMS
music studio (Debian package `lmms`: drums, bass, chords and leads from its own synthesisers
and samples; mostly electronic dance music, the titles name progressive house, reggae,
reggaeton, C64 chiptune, 80s rock and crunk; 87-200 BPM), rendered
by its command-line exporter, each at three tempi around the tempo its author set.

    bench/lmms_corpus.py OUT [--factors 0.92,1,1.08] [--max-seconds 120] [--jobs 2]

Writes OUT/<song>/<song>-<k>.wav (44.1 kHz stereo, one folder per source project: its tempi)
and OUT/manifest.tsv in the form `bench/tempo_accuracy.py` reads (path, genre, bpm). The
truth: an LMMS project has one tempo (none of these automates it) and its song starts on a bar
line, so the bar lines are at 0 s and every 4 beats of the tempo written into the copy (one of
them, `Oglsdl-PpTrip`, is in 8/4: its bars are two 4-beat bars). Left out: projects whose
time signature is not 4/4 or 8/4 (one, in 1/1), the tutorial, and the other tempi of projects
that play recorded audio clips (LMMS 1.2 plays those at their own speed, so a tempo other than
the author's would put them out of time with the notes). Knobs synced to the tempo (arpeggio
steps, LFO periods, delay times set to a note length; 6 projects have them) are written into
each copy at the times its tempo gives them: LMMS 1.2 loads the time the project stored, at the
author's tempo, and left so, an arpeggio in 16ths at 143 BPM played over a song at 132 (its
render read 140.1 BPM; with its arpeggio at 132, 132.0). File names carry no tempo, so the
"with metadata" column of `tempo_accuracy.py` is the genre's choice again.

Each render is cut to its first `--max-seconds` (whole songs run to 4 minutes); all 72 took
9 and 22 minutes on two machines, with 2 jobs on 2 cores (LMMS renders faster than real time,
on the processor). LMMS 1.2.2 crashes as it exits after writing its file, so its exit status
is not read; a render counts when its WAV file reads and is not silent."""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import wave
import xml.etree.ElementTree as ET
import zlib

from rendered_corpus import render_all

PROJECTS = "/usr/share/lmms/projects"

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--factors", default="0.92,1,1.08")
p.add_argument("--max-seconds", type=float, default=120.0)
p.add_argument("--jobs", type=int, default=2)
args = p.parse_args()
factors = [float(f) for f in args.factors.split(",")]
sources = sorted(glob.glob(f"{PROJECTS}/demos/*.mmp*") + glob.glob(f"{PROJECTS}/demos/*/*.mmp*")
                 + glob.glob(f"{PROJECTS}/shorties/*.mmp*"))
if not sources:
    sys.exit(f"no LMMS projects under {PROJECTS}: apt-get install lmms")
os.makedirs(args.out, exist_ok=True)
work = tempfile.mkdtemp(prefix="lmms-songs-")


def load(path):
    """The project's XML root (`.mmpz` is Qt's qCompress: a 4-byte length, then zlib)."""
    data = open(path, "rb").read()
    return ET.fromstring(zlib.decompress(data[4:]) if path.endswith(".mmpz") else data)


def setting(el, name):
    """A setting of an element (the project's head, a knob's owner): an attribute, or a child
    element's value when it is automatable; None when it has neither."""
    child = el.find(name)
    value = child.get("value") if child is not None else el.get(name)
    return None if value is None else float(value)


def set_setting(el, name, value):
    child = el.find(name)
    (child if child is not None else el).set("value" if child is not None else name, value)


def synced_knobs(root):
    """The knobs whose time follows the tempo (arpeggio steps, LFO periods, delay times set to
    a note length): (element, knob name, stored time) of each whose sync mode is not 0
    ("none"). The mode is written as `syncmode`, as in these demo projects, where the knob is
    the one whose note length is written as `<knob>_numerator`, or as `<knob>_syncmode` (newer
    versions)."""
    knobs = []
    for el in root.iter():
        for key, mode in el.attrib.items():
            if not key.endswith("syncmode") or mode in ("", "0"):
                continue
            if key == "syncmode":
                names = [k[: -len("_numerator")] for k in el.attrib if k.endswith("_numerator")]
            else:
                names = [key[: -len("_syncmode")]]
            knobs += [(el, n, v) for n in names if (v := setting(el, n)) is not None]
    return knobs


def plan(src):
    """The renders of one project: (copy of the project, output path, row of the manifest)."""
    root = load(src)
    head = root.find("head")
    beats = setting(head, "timesig_numerator")
    if beats not in (4, 8) or setting(head, "timesig_denominator") != 4:
        print(f"skipped {src}: {beats:g}/{setting(head, 'timesig_denominator'):g} time",
              file=sys.stderr)
        return []
    bpm_node = head.find("bpm")
    if bpm_node is not None and bpm_node.get("id") in {o.get("id") for o in root.iter("object")}:
        print(f"skipped {src}: its tempo is automated", file=sys.stderr)
        return []
    audio_clips = any(root.iter("sampletco"))
    name = os.path.splitext(os.path.basename(src))[0].lower()
    name = "".join(c if c.isalnum() or c == "-" else "-" for c in name).strip("-")
    bpm0 = setting(head, "bpm")
    knobs = synced_knobs(root)
    jobs = []
    for k, f in enumerate(factors if not audio_clips else [1.0], 1):
        bpm = round(bpm0 * f)
        set_setting(head, "bpm", f"{bpm}")
        # LMMS 1.2 loads a tempo-synced knob's time as the project stored it, at the author's
        # tempo, and rescales it only when the tempo changes while the song is open: the copy
        # carries the times a tempo change would give.
        for el, knob, value in knobs:
            set_setting(el, knob, f"{value * bpm0 / bpm:.6g}")
        song = os.path.join(work, f"{name}-{k}.mmp")
        ET.ElementTree(root).write(song, encoding="UTF-8", xml_declaration=True)
        rel = f"{name}/{name}-{k}.wav"
        row = {"path": rel, "genre": name, "bpm": bpm, "beats_per_bar": int(beats),
               "audio_clips": int(audio_clips), "source": os.path.relpath(src, PROJECTS)}
        jobs.append((song, os.path.join(args.out, rel), row))
    return jobs


def render(job):
    song, out, row = job
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part.wav"
    cmd = ["lmms", "render", song, "-f", "wav", "-o", tmp]
    if os.geteuid() == 0:
        cmd.insert(1, "--allowroot")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        subprocess.run(cmd, env=env, capture_output=True, timeout=1800)
        with wave.open(tmp) as w:
            rate, frames = w.getframerate(), w.getnframes()
            keep = min(frames, int(args.max_seconds * rate))
            audio, params = w.readframes(keep), w.getparams()
    except (OSError, EOFError, wave.Error, subprocess.TimeoutExpired) as e:
        # One project that LMMS cannot render costs that project, not the others' renders.
        print(f"skipped {row['source']} at {row['bpm']} BPM: lmms rendered no readable WAV ({e})",
              file=sys.stderr)
        if os.path.exists(tmp):
            os.remove(tmp)
        return None
    if frames == 0 or not any(audio):
        os.remove(tmp)
        print(f"skipped {row['source']} at {row['bpm']} BPM: lmms rendered silence", file=sys.stderr)
        return None
    with wave.open(tmp, "wb") as w:
        w.setparams(params)
        w.writeframes(audio)
    os.replace(tmp, out)
    row["seconds"] = round(keep / rate, 2)
    row["sample_rate"] = rate
    return row


jobs = [j for s in sources for j in plan(s)]
rows = render_all(jobs, render, args.jobs, args.out, "lmms")
print(f"{len(rows)} songs from {len({r['source'] for r in rows})} LMMS projects in {args.out}")
