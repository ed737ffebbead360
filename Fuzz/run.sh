#!/usr/bin/env bash
# Builds the SynapseData fuzz targets with libFuzzer (+ AddressSanitizer) and runs each.
#   Fuzz/run.sh [seconds per target, default 150] [targets..., default: cifar10 cifar100 idx]
# Binaries, corpora and logs go to .build-fuzz/ (git-ignored); crashes to .build-fuzz/<target>/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-150}; shift || true
targets=("${@:-cifar10 cifar100 idx}")
targets=(${targets[@]})
out=.build-fuzz
mkdir -p "$out"

source_for() { case $1 in cifar10) echo Fuzz/FuzzCIFAR10.swift;; cifar100) echo Fuzz/FuzzCIFAR100.swift;;
                          idx) echo Fuzz/FuzzIDX.swift;; *) echo "unknown target $1" >&2; exit 2;; esac; }
max_len_for() { case $1 in idx) echo 4096;; *) echo 10000;; esac; }

for target in "${targets[@]}"; do
    dir=$out/$target
    mkdir -p "$dir/corpus"
    echo "== building $target"
    # -module-name SynapseData: the entry point sees the module's internals, as @testable would.
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
        -module-name SynapseData -swift-version 5 \
        -I Sources/CZlib -lz \
        Sources/SynapseData/*.swift "$(source_for "$target")" \
        -o "$dir/fuzz-$target" 2>&1 | { grep -v "Cannot export local symbol" || true; }
    # Seeds: one or two valid inputs, so the fuzzer starts past the size and header checks.
    if command -v python3 >/dev/null; then
        python3 Fuzz/seeds.py "$target" "$dir/corpus"
    fi
    echo "== running $target for $seconds s"
    (cd "$dir" && ./"fuzz-$target" -max_total_time="$seconds" -max_len="$(max_len_for "$target")" \
        -print_final_stats=1 corpus 2>&1 | tee run.log | grep -E "stat::number_of_executed_units|ERROR|crash-|Done" || true)
done
