#!/usr/bin/env bash
# GPU readiness in one command (under 10 minutes on one CUDA GPU):
#   1. the CUDA tests (pytest -m gpu),
#   2. the GPU benchmark rows, fullspike against SpikingJelly's GPU backends (benchmarks/run.py),
#   3. a few hundred training steps of a paper-scale config: throughput and peak memory.
# Results go to OUT (default runs/gpu_check): pytest.txt, benchmarks.txt, steps.json.
#
#   scripts/gpu_check.sh [--out DIR]        on a machine with a CUDA GPU
#   scripts/gpu_check.sh --dry-run          the same steps on the CPU at tiny sizes (tested in CI)
# PYTHON (default: python) is the interpreter with fullspike (and, for the peers, its bench extra).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=runs/gpu_check
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --out) OUT=$2; shift ;;
    *) echo "error: unknown argument '$1'; use --dry-run and/or --out DIR" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
if [ "$DRY" = 1 ]; then
  DEVICE=cpu
  TESTS=(tests/engine/test_backends.py)  # collected and skipped without CUDA: the markers and imports still run
  BENCH=(--device cpu --quick --no-write --cases lif --lif-T 4 --frameworks fullspike --warmup 1 --reps 1)
  STEPS=(--config dst_resnet34_cifar10 --device cpu --tiny --steps 2 --warmup 1 --batch 2)
else
  DEVICE=cuda
  "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "error: no CUDA device visible to $PY; on a CPU machine run scripts/gpu_check.sh --dry-run" >&2; exit 2; }
  TESTS=(tests)
  BENCH=(--device cuda --cases lif,vgg9,resnet18 --frameworks fullspike,spikingjelly,spikingjelly-torch,ann
         --rounds 1 --no-write)
  STEPS=(--config dst_resnet34_cifar10 --device cuda --steps 300 --warmup 20 --batch 128)
fi
echo "== 1/3 CUDA tests ($DEVICE)"
"$PY" -m pytest -q -m gpu -p no:cacheprovider "${TESTS[@]}" 2>&1 | tee "$OUT/pytest.txt"
echo "== 2/3 benchmarks against SpikingJelly ($DEVICE)"
"$PY" benchmarks/run.py "${BENCH[@]}" 2>&1 | tee "$OUT/benchmarks.txt"
echo "== 3/3 paper-scale training steps ($DEVICE)"
"$PY" scripts/gpu_steps.py "${STEPS[@]}" --out "$OUT/steps.json"
echo "gpu check done: $OUT"
