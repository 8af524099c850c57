#!/usr/bin/env bash
# Peak memory of the dataset pipeline on one long song: makes a 20-minute house song at
# 44.1 kHz with `beatgen make-corpus` (mono MP3), then, if `lame` is installed, re-encodes it
# as a stereo 44.1 kHz MP3, and reports `dataset-info`'s peak resident memory (GNU time) on
# each, with a fresh cache. Not part of CI.
#   bench/long_song_memory.sh [WORKDIR]      (default: a temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=$PWD/target/release/beatgen
work=${1:-$(mktemp -d)}
mkdir -p "$work"
# Song 02 of a genre is rendered at 44.1 kHz (songs alternate 22050 / 44100 Hz).
"$bin" -q make-corpus "$work/corpus" --per-genre 2 --genres house --seconds 1200 --seed 1
rm -f "$work/corpus/house/"*01-*.mp3
song=$(ls "$work/corpus/house/"*.mp3)
measure() {
  rm -rf "$work/cache"
  /usr/bin/time -f "%M" -o "$work/peak" "$bin" -q dataset-info "$1" --cache "$work/cache" > /dev/null
  echo "$2: peak $(( $(cat "$work/peak") / 1024 )) MB"
}
measure "$work/corpus" "20-min 44.1 kHz mono MP3"
if command -v lame > /dev/null; then
  mkdir -p "$work/stereo/house"
  lame --quiet --decode "$song" "$work/mono.wav"
  # Left: the song; right: the song at 70% (python3's wave module; 16-bit).
  python3 - "$work/mono.wav" "$work/stereo.wav" <<'PY'
import array, sys, wave
src = wave.open(sys.argv[1])
mono = array.array("h", src.readframes(src.getnframes()))
out = array.array("h", bytes(4 * len(mono)))
out[0::2] = mono
out[1::2] = array.array("h", (int(v * 0.7) for v in mono))
dst = wave.open(sys.argv[2], "wb")
dst.setnchannels(2), dst.setsampwidth(2), dst.setframerate(src.getframerate())
dst.writeframes(out.tobytes())
PY
  lame --quiet -m s -b 192 "$work/stereo.wav" "$work/stereo/house/long.mp3"
  measure "$work/stereo" "20-min 44.1 kHz stereo MP3"
fi
