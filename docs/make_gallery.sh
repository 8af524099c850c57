#!/usr/bin/env bash
# Remakes docs/gallery/: runs the demo (trains or reuses models/demo), then copies the first
# generated loop's spectrogram per genre (the decoded bar grid: 2 bars, 256 frames), a held-out
# real example of each genre on the same grid and that example through the VAE (from `beatgen
# eval --out`), the same loops with
# the spectral postfilter off, with the transient shaper off and without the spectral detail (a
# copy of the model without detail.safetensors; spec-generate with the demo's settings), and the
# loss curve.
# docs/gallery/v1/ holds the first version's pictures (3 s clips, MLP), kept for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -q -- demo
cargo run --release -q -- eval --model models/demo songs --out out/eval > /dev/null
mkdir -p docs/gallery
off=$(mktemp -d)
smooth=$(mktemp -d)
cp -r models/demo/. "$smooth"
rm "$smooth/detail.safetensors"
for g in boom-bap drill house lo-fi trap; do
  cp "out/demo/$g/$g-seed1-01-4bars.png" "docs/gallery/$g.png"
  cp "out/eval/real-$g.png" "docs/gallery/real-$g.png"
  cp "out/eval/reconstructed-$g.png" "docs/gallery/reconstructed-$g.png"
  cargo run --release -q -- -q spec-generate --model models/demo --genre "$g" --count 1 --seed 1 \
    --temperature 0.8 --bars 4 --dump-png --midi --postfilter 0 --out "$off" > /dev/null
  cp "$off/$g-seed1-01-4bars.png" "docs/gallery/postfilter-off-$g.png"
  cargo run --release -q -- -q spec-generate --model models/demo --genre "$g" --count 1 --seed 1 \
    --temperature 0.8 --bars 4 --dump-png --midi --sustain-cut 0 --out "$off" > /dev/null
  cp "$off/$g-seed1-01-4bars.png" "docs/gallery/sustain-cut-off-$g.png"
  cargo run --release -q -- -q spec-generate --model "$smooth" --genre "$g" --count 1 --seed 1 \
    --temperature 0.8 --bars 4 --dump-png --midi --out "$off" > /dev/null
  cp "$off/$g-seed1-01-4bars.png" "docs/gallery/detail-off-$g.png"
done
rm -rf "$off" "$smooth"
cp models/demo/loss.png docs/gallery/loss.png
