#!/bin/sh
# The README's picture of a generated loop with its MIDI groove drawn under the spectrogram:
# a trap loop of the demo model (run `cargo run --release -- demo` first).
set -e
cd "$(dirname "$0")/.."
out=$(mktemp -d)
./target/release/beatgen spec-generate --model models/demo --genre trap --count 1 --seed 1 \
  --dump-png --midi --out "$out"
cp "$out/trap-seed1-01.png" docs/midi_groove.png
rm -rf "$out"
echo "wrote docs/midi_groove.png"
