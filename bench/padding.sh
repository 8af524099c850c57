#!/usr/bin/env bash
# How the padding of centred frames changes Griffin-Lim on real excerpts: spectral convergence
# of 32 iterations (random and PGHI initial phase) on 3 s excerpts (from 5.3 s in) of songs
# 01-04 of every genre, with reflect and with zero padding; median, min and max per corpus.
#   bench/padding.sh [CORPUS...]     default: songs out/songs-fluid
# out/songs-fluid is `beatgen make-corpus out/songs-fluid --soundfont FluidR3_GM.sf2` (recorded
# drum samples). Needs jq and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=target/release/beatgen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for corpus in ${*:-songs out/songs-fluid}; do
  for init in random pghi; do
    for pad in reflect zero; do
      vals=""
      for f in $(ls $corpus/*/*-0[1-4]-*.mp3); do
        v=$($bin resynth "$f" "$tmp/pad.wav" --offset 5.3 --seconds 3 --init $init --pad $pad --json | jq .spectral_convergence_db)
        vals="$vals $v"
      done
      echo "$corpus $init $pad $(echo $vals | tr ' ' '\n' | python3 -c 'import sys,statistics as s; v=[float(x) for x in sys.stdin]; print("median %.2f min %.2f max %.2f n %d"%(s.median(v),min(v),max(v),len(v)))')"
    done
  done
done
