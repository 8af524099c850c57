#!/bin/sh
# Train the drum-onset network beatgen ships (src/groove/onsets.safetensors), as it was made:
# four corpora of the built-in synthesiser (seeds 2-5) and two rendered through a General
# MIDI SoundFont (seeds 2-3), 8 songs of 24 s per genre each, with their true notes
# (make-corpus --midi); seed 1, the bundled songs/ and README's transcription tables, is
# left out. Needs the SoundFont (Debian: fluid-soundfont-gm), or another in $SOUNDFONT.
#
#   docs/train_onsets.sh [OUT.safetensors]
set -eu
cd "$(dirname "$0")/.."
out=${1:-src/groove/onsets.safetensors}
sf=${SOUNDFONT:-/usr/share/sounds/sf2/FluidR3_GM.sf2}
[ -f "$sf" ] || { echo "$sf: no such SoundFont (set SOUNDFONT)" >&2; exit 1; }
cargo build --release --quiet
b=target/release/beatgen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in 2 3 4 5; do "$b" -q make-corpus "$tmp/synth$s" --midi --seed "$s" >/dev/null; done
for s in 2 3; do "$b" -q make-corpus "$tmp/soundfont$s" --midi --seed "$s" --soundfont "$sf" >/dev/null; done
"$b" train-onsets "$tmp"/synth2 "$tmp"/synth3 "$tmp"/synth4 "$tmp"/synth5 \
    "$tmp"/soundfont2 "$tmp"/soundfont3 --out "$out" --seed 0
