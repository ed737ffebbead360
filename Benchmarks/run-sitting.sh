#!/bin/bash
# One sitting on this machine, for Benchmarks/RESULTS.md: the peers (../shared/peers/run_all.sh:
# numpy/OpenBLAS sgemm, TensorFlow-CPU, tinygrad), then synapse-bench on PoCL, then the peak
# memory of a short cifar-split --split cifar10 run on the shared data. Ratios are only worth
# quoting from one sitting: the machine is shared and noisy.
#
# Usage: Benchmarks/run-sitting.sh OUTDIR [synapse-bench arguments...]
#   e.g. Benchmarks/run-sitting.sh /tmp/sitting --repeats 3 --steps 2
# Environment: SKIP_PEERS=1, SKIP_BUILD=1, BENCH_SCRATCH (default .build-bench),
#   CIFAR_ARGS (default "--tasks 1 --epochs 1 --train-limit 512 --test-limit 512": the data load
#   dominates the peak, and the whole protocol does not fit a sitting on 2 cores)
# Writes OUTDIR/{load.txt, peers.txt, bench-cpu.json, bench.txt, cifar.txt}.
set -u
if [ $# -lt 1 ]; then
    echo "usage: run-sitting.sh OUTDIR [synapse-bench arguments...]" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$1
shift
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
SCRATCH=${BENCH_SCRATCH:-.build-bench}
DATA=${SYNAPSE_SHARED_DATA:-$ROOT/../shared/datasets/cifar-10-jpeg}
CIFAR_ARGS=${CIFAR_ARGS:---tasks 1 --epochs 1 --train-limit 512 --test-limit 512}

cd "$ROOT" || exit 1
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    for p in synapse-bench cifar-split; do
        swift build -c release --scratch-path "$SCRATCH" --product "$p" 2>&1 | tail -1
    done
fi
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)

stamp() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $1: $(cut -d' ' -f1-3 /proc/loadavg) (load 1/5/15 min)" >>"$OUT/load.txt"; }
: >"$OUT/load.txt"
stamp "start; commit $(git rev-parse --short HEAD)"
if [ "${SKIP_PEERS:-0}" != 1 ]; then
    bash "$ROOT/../shared/peers/run_all.sh" >"$OUT/peers.txt" 2>&1
    stamp "peers done"
fi
# The practical FP32 peak of this CPU from the same sitting: numpy/OpenBLAS sgemm 2048.
PEAK=$(sed -n 's/.*sgemm GFLOP\/s:.*2048=\([0-9.]*\).*/\1/p' "$OUT/peers.txt" 2>/dev/null | head -1)
PEAK_ARGS=()
[ -n "$PEAK" ] && PEAK_ARGS=(--peak-gflops "$PEAK" --peak-source "numpy/OpenBLAS sgemm 2048, same sitting")
"$BIN/synapse-bench" --device cpu --json "$OUT/bench-cpu.json" "${PEAK_ARGS[@]}" "$@" >"$OUT/bench.txt" 2>&1
echo "exit $?" >>"$OUT/bench.txt"
stamp "synapse-bench done"
# shellcheck disable=SC2086  # CIFAR_ARGS is a word list on purpose
/usr/bin/time -v "$BIN/cifar-split" --split cifar10 --data-dir "$DATA" --device cpu --method si \
    --out "$(mktemp -d /tmp/sitting-cifar.XXXXXX)" $CIFAR_ARGS >"$OUT/cifar.txt" 2>&1
stamp "cifar-split done"
grep -h SUMMARY "$OUT/peers.txt" "$OUT/bench.txt" 2>/dev/null
grep -h 'Maximum resident' "$OUT/cifar.txt"
cat "$OUT/load.txt"
