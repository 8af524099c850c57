#!/usr/bin/env bash
# Remakes docs/gallery/: runs the demo (trains or reuses models/demo), then copies the first
# generated clip's spectrogram per genre, a real clip for comparison, and the loss curve.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -- demo
mkdir -p docs/gallery
for g in boom-bap drill house lo-fi trap; do
  cp "out/demo/$g/$g-seed1-01.png" "docs/gallery/$g.png"
done
cp models/demo/loss.png docs/gallery/loss.png
cargo run --release -q -- spec-dump songs/trap/trap-01-138bpm.mp3 docs/gallery/real-trap.png --seconds 3
