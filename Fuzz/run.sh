#!/usr/bin/env bash
# Builds the SynapseData fuzz targets with libFuzzer (+ AddressSanitizer) and runs each.
#   Fuzz/run.sh [seconds per target, default 150] [targets..., default: cifar10 cifar100 idx]
# Binaries, corpora and logs go to .build-fuzz/ (git-ignored); crashes to .build-fuzz/<target>/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-150}; shift || true
targets=("${@:-cifar10 cifar100 idx checkpoint}")
targets=(${targets[@]})
out=.build-fuzz
mkdir -p "$out"

source_for() { case $1 in cifar10) echo Fuzz/FuzzCIFAR10.swift;; cifar100) echo Fuzz/FuzzCIFAR100.swift;;
                          idx) echo Fuzz/FuzzIDX.swift;; checkpoint) echo Fuzz/FuzzCheckpoint.swift;;
                          *) echo "unknown target $1" >&2; exit 2;; esac; }
max_len_for() { case $1 in idx) echo 4096;; *) echo 10000;; esac; }

# The checkpoint target reaches SynapseCLI, SynapseContinual and everything they import, so it is
# linked against the package's own modules: built by SwiftPM in release mode with AddressSanitizer
# and libFuzzer's coverage instrumentation (-sanitize=fuzzer itself would give every executable of
# the package libFuzzer's main), then linked with the entry point and libFuzzer.
build_checkpoint() {
    local spm=$out/spm
    swift build -c release --build-path "$spm" --target SynapseCLI \
        -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp -Xswiftc -enable-testing
    local release
    release=$(swift build -c release --build-path "$spm" --show-bin-path)
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 5 \
        -I "$release/Modules" -I "$release" -I Sources/COpenCL -I Sources/CZlib \
        Fuzz/FuzzCheckpoint.swift $(find "$release" -name "*.o" -path "*.build/*" ! -path "*-tool.build/*" \
            ! -path "*/split-mnist.build/*" ! -path "*/permuted-mnist.build/*" ! -path "*/cifar-split.build/*" \
            ! -path "*/synapse-check.build/*" ! -path "*/embed-kernels.build/*" -print) \
        -lOpenCL -lz -o "$1"
}

for target in "${targets[@]}"; do
    dir=$out/$target
    mkdir -p "$dir/corpus"
    echo "== building $target"
    if [ "$target" = checkpoint ]; then
        build_checkpoint "$dir/fuzz-$target" 2>&1 | { grep -v "Cannot export local symbol" || true; }
    else
    # -module-name SynapseData: the entry point sees the module's internals, as @testable would;
    # -package-name: the module has package-visible declarations (SwiftPM passes the same flag).
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
        -module-name SynapseData -package-name Synapse -swift-version 5 \
        -I Sources/CZlib -lz \
        Sources/SynapseData/*.swift "$(source_for "$target")" \
        -o "$dir/fuzz-$target" 2>&1 | { grep -v "Cannot export local symbol" || true; }
    fi
    # Seeds: one or two valid inputs, so the fuzzer starts past the size and header checks.
    if command -v python3 >/dev/null; then
        python3 Fuzz/seeds.py "$target" "$dir/corpus"
    fi
    echo "== running $target for $seconds s"
    (cd "$dir" && ./"fuzz-$target" -max_total_time="$seconds" -max_len="$(max_len_for "$target")" \
        -print_final_stats=1 corpus 2>&1 | tee run.log | grep -E "stat::number_of_executed_units|ERROR|crash-|Done" || true)
done
