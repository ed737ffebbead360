#!/usr/bin/env bash
# MPI benchmark: sweep throughput (runs per hour) with 1 process and with `mpirun -n 2`, and the
# data-parallel training step with 1 and 2 ranks (with the gradient exchange's share). Needs the
# MPI build: swift build -c release --traits MPI --scratch-path .build-mpi
#   Benchmarks/mpi-bench.sh OUTDIR [ROUNDS]
# Each configuration runs ROUNDS times (default 2), interleaved A/B, so that a busy machine
# slows both alike; every run's wall time is printed, then the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: Benchmarks/mpi-bench.sh OUTDIR [ROUNDS]}
rounds=${2:-2}
bin=.build-mpi/release
mpirun="mpirun --allow-run-as-root --oversubscribe"
fashion=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
cifar=${CIFAR_DIR:-../shared/datasets/cifar-10-jpeg}
mkdir -p "$out"
sweep=(--data-dir "$fashion" --device cpu --method si,finetune --seeds 0-3 --epochs 1 --train-limit 2000 --test-limit 500 --quiet)
dp=(--split cifar10 --data-dir "$cifar" --device cpu --method si --epochs 1 --tasks 1 --train-limit 2048 --test-limit 256 --batch-size 256)

seconds() { local start=$(date +%s.%N); "$@" > /dev/null 2>"$out/last.err" || { cat "$out/last.err"; exit 1; }; echo "$(date +%s.%N) - $start" | bc; }

echo "== warm-up (kernel cache)"
$bin/split-mnist "${sweep[@]}" --seeds 0 --method si --out "$out/warm-sweep" > /dev/null
$bin/cifar-split "${dp[@]}" --train-limit 256 --out "$out/warm-dp" > /dev/null 2>&1

for r in $(seq 1 "$rounds"); do
    t1=$(seconds $bin/split-mnist "${sweep[@]}" --out "$out/sweep1-$r")
    t2=$(seconds $mpirun -n 2 $bin/split-mnist "${sweep[@]}" --out "$out/sweep2-$r")
    echo "sweep round $r: 8 runs, 1 process ${t1}s ($(echo "8 * 3600 / $t1" | bc) runs/h), 2 ranks ${t2}s ($(echo "8 * 3600 / $t2" | bc) runs/h)"
done

for r in $(seq 1 "$rounds"); do
    $bin/cifar-split "${dp[@]}" --out "$out/dp1-$r" > /dev/null 2> "$out/dp1-$r.err"
    $mpirun -n 2 $bin/cifar-split "${dp[@]}" --data-parallel --out "$out/dp2-$r" > /dev/null 2> "$out/dp2-$r.err"
    for k in 1 2; do
        ips=$(python3 -c "import json; print(json.load(open('$out/dp$k-$r/si.json'))['tasks'][0]['images_per_second'])")
        echo "data-parallel round $r, $k rank(s): $(python3 -c "print(f'{256 / $ips * 1000:.1f}')") ms per 256-image step ($ips img/s)"
    done
    grep -h "gradient exchange" "$out/dp2-$r.err" || true
done
