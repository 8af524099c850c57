#!/usr/bin/env bash
# Peer comparisons (not part of CI): builds beatgen, makes its own Python virtual environment
# with librosa and PyTorch (CPU) in bench/.venv on first use, and prints markdown tables.
#   bench/run.sh            all comparisons
#   bench/run.sh griffin_lim  one of: griffin_lim preprocess training (the three run by
#                             default), detection_share
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 NUMBA_NUM_THREADS=2
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install -q -r bench/requirements.txt
# madmom 0.16 (for bench/tempo_accuracy.py) builds with Cython against the installed NumPy.
bench/.venv/bin/pip install -q --no-build-isolation madmom==0.16.1 || echo "madmom did not install: tempo_accuracy.py runs without it"
cargo build --release -q
mkdir -p bench/results
for name in ${1:-griffin_lim preprocess training}; do
  [ -f "bench/$name.py" ] || { echo "no such comparison: $name" >&2; exit 2; }
  echo "== $name"
  bench/.venv/bin/python "bench/$name.py" --beatgen target/release/beatgen --json-out "bench/results/$name.json"
  echo
done
