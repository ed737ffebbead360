#!/bin/bash
# One sitting on this machine, for Benchmarks/RESULTS.md: the peers (../shared/peers/run_all.sh:
# numpy/OpenBLAS sgemm, TensorFlow-CPU, tinygrad), then synapse-bench on PoCL, then the peak
# memory of a short cifar-split --split cifar10 run on the shared data, then the whole protocols
# (fine-tuning) in TensorFlow (../shared/peers/tf_protocol.py) and in Synapse, back to back:
# split MNIST (full protocol, Fashion-MNIST) and split CIFAR-10 at --epochs 2 (the shared
# CIFAR-10). Ratios are only worth quoting from one sitting: the machine is shared and noisy.
#
# Usage: Benchmarks/run-sitting.sh OUTDIR [synapse-bench arguments...]
#   e.g. Benchmarks/run-sitting.sh /tmp/sitting --repeats 3 --steps 2
# Environment: SKIP_PEERS=1, SKIP_BUILD=1, SKIP_BENCH=1, SKIP_PROTOCOLS=1, BENCH_SCRATCH (default
#   .build-bench), PEERS_DIR (default /tmp/synapse-peers: ../shared/peers/setup.sh's venv),
#   MNIST_DIR (default /usr/share/datasets/fashion-mnist), CIFAR_EPOCHS (default 2),
#   CIFAR_ARGS (default "--tasks 1 --epochs 1 --train-limit 512 --test-limit 512": the data load
#   dominates the peak)
# Writes OUTDIR/{load.txt, peers.txt, bench-cpu.json, bench.txt, cifar.txt, protocol-*.txt,
#   protocols.txt (the wall times, images/s and ratios)}.
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
# synapse-bench is its own package (Benchmarks/Package.swift, which depends on the root package),
# so all three tools are built through it: one release build of the libraries, one bin folder.
BUILD=(swift build -c release --package-path Benchmarks --scratch-path "$SCRATCH")
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    for p in synapse-bench cifar-split split-mnist; do
        "${BUILD[@]}" --product "$p" 2>&1 | tail -1
    done
fi
BIN=$("${BUILD[@]}" --show-bin-path)

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
if [ "${SKIP_BENCH:-0}" != 1 ]; then
    # --tune first: the tiles are measured on this machine (and cached for the protocol runs below).
    "$BIN/synapse-bench" --device cpu --tune --json "$OUT/bench-cpu.json" "${PEAK_ARGS[@]}" "$@" >"$OUT/bench.txt" 2>&1
    echo "exit $?" >>"$OUT/bench.txt"
    stamp "synapse-bench done"
fi
# shellcheck disable=SC2086  # CIFAR_ARGS is a word list on purpose
/usr/bin/time -v "$BIN/cifar-split" --split cifar10 --data-dir "$DATA" --device cpu --method si \
    --out "$(mktemp -d /tmp/sitting-cifar.XXXXXX)" $CIFAR_ARGS >"$OUT/cifar.txt" 2>&1
stamp "cifar-split done"

# Whole protocols, fine-tuning, TensorFlow first then Synapse, each pair back to back. Both time
# the protocol itself: TensorFlow from its first step (tracing included) to the last evaluation,
# Synapse the sum of its tasks' wall times (training, evaluation), i.e. neither counts reading
# the data files; the process wall time of each (loading and kernel builds included) is kept too.
if [ "${SKIP_PROTOCOLS:-0}" != 1 ]; then
    PY=${PEERS_DIR:-/tmp/synapse-peers}/venv/bin/python
    TFP=$ROOT/../shared/peers/tf_protocol.py
    MNIST=${MNIST_DIR:-/usr/share/datasets/fashion-mnist}
    EPOCHS=${CIFAR_EPOCHS:-2}
    run_pair() { # NAME TF-ARGS... -- SYNAPSE-COMMAND...
        local name=$1; shift
        local tf=() ours=()
        while [ "$1" != -- ]; do tf+=("$1"); shift; done
        shift
        ours=("$@")
        local run
        run=$(mktemp -d /tmp/sitting-protocol.XXXXXX)
        /usr/bin/time -f 'process wall %e s, peak RSS %M KiB' "$PY" "$TFP" "${tf[@]}" >"$OUT/protocol-$name-tf.txt" 2>&1
        stamp "tf_protocol $name done"
        /usr/bin/time -f 'process wall %e s, peak RSS %M KiB' "${ours[@]}" --method finetune --device cpu --out "$run" \
            >"$OUT/protocol-$name-synapse.txt" 2>&1
        cp "$run/finetune.json" "$OUT/protocol-$name-synapse.json" 2>/dev/null
        stamp "synapse $name done"
    }
    # tf_protocol.py evaluates, after task t, the tasks seen so far (1..t): the like-for-like Synapse
    # run is --evaluate seen. Split CIFAR-10 is also run with Synapse's default (--evaluate all: the
    # whole accuracy matrix, unseen tasks included, 25 test splits against 15) and reported beside it.
    run_pair split-mnist split-mnist --data-dir "$MNIST" -- "$BIN/split-mnist" --data-dir "$MNIST" --evaluate seen
    run_pair split-cifar10 split-cifar10 --data-dir "$DATA" --epochs "$EPOCHS" -- \
        "$BIN/cifar-split" --split cifar10 --data-dir "$DATA" --epochs "$EPOCHS" --evaluate seen
    run=$(mktemp -d /tmp/sitting-protocol.XXXXXX)
    /usr/bin/time -f 'process wall %e s, peak RSS %M KiB' "$BIN/cifar-split" --split cifar10 --data-dir "$DATA" \
        --epochs "$EPOCHS" --evaluate all --method finetune --device cpu --out "$run" \
        >"$OUT/protocol-split-cifar10-all-synapse.txt" 2>&1
    cp "$run/finetune.json" "$OUT/protocol-split-cifar10-all-synapse.json" 2>/dev/null
    stamp "synapse split-cifar10 --evaluate all done"
    python3 "$ROOT/Benchmarks/protocol_ratios.py" "$OUT" | tee "$OUT/protocols.txt"
fi

grep -h SUMMARY "$OUT/peers.txt" "$OUT/bench.txt" 2>/dev/null
grep -h 'Maximum resident' "$OUT/cifar.txt"
cat "$OUT/load.txt"
