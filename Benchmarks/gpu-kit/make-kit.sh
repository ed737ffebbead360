#!/bin/bash
# Builds the Synapse kit: what a machine with an OpenCL device, no Swift toolchain and no network
# needs to run the kernel checks, the benchmark, PyTorch's version of the training step and a short
# split-CIFAR-10 run (see run.sh beside this file).
#
# Usage: Benchmarks/gpu-kit/make-kit.sh OUTDIR
#   OUTDIR is normally ./kit in the repository root: git-ignored, so the device tool can carry it.
# Environment:
#   KIT_DATA           a cifar-10-batches-bin folder (default ../shared/datasets/cifar-10-jpeg/
#                      cifar-10-batches-bin next to the repository), or 'none' for no data
#   KIT_TRAIN_RECORDS  records of data_batch_1.bin to carry (default 10000: the whole batch)
#   KIT_TEST_RECORDS   records of test_batch.bin to carry (default 5000 of 10000)
#   KIT_SKIP_BUILD=1   reuse the binaries already in .build-kit
#   KIT_MAX_MIB        the most the kit plus the working tree may weigh (default 60; the device
#                      tool carries 64 MiB in all)
#
# What the kit holds:
#   bin.tar.xz   synapse-check, synapse-bench, cifar-split: release, --static-swift-stdlib,
#                stripped. Each is mostly the same static Swift runtime and Foundation, so one xz
#                stream with a dictionary larger than all three stores those bytes once.
#   ocl/         ocl-icd-libopencl1_*.deb from apt (libOpenCL.so.1, the ICD loader), unpacked by run.sh;
#                libclblast1_*.deb (CLBlast, a tuned OpenCL BLAS: its SGEMM is timed beside ours);
#                zlib1g_*.deb, unpacked only where the machine has no libz.so.1
#   data/        CIFAR-10 records (xz), batches.meta.txt; see MANIFEST.txt for what was cut
#   run.sh, torch_step.py, MANIFEST.txt
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: make-kit.sh OUTDIR" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUTDIR=$1
DATA_SRC=${KIT_DATA:-$ROOT/../shared/datasets/cifar-10-jpeg/cifar-10-batches-bin}
TRAIN_RECORDS=${KIT_TRAIN_RECORDS:-10000}
TEST_RECORDS=${KIT_TEST_RECORDS:-5000}
MAX_MIB=${KIT_MAX_MIB:-60}
RECORD=3073  # bytes per CIFAR-10 record: 1 label + 3×32×32 pixels
PRODUCTS="synapse-check synapse-bench cifar-split"

for v in TRAIN_RECORDS TEST_RECORDS MAX_MIB; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]]; then
        echo "make-kit.sh: KIT_$v must be a whole number, found '${!v}'" >&2
        exit 2
    fi
done
# Refuse to empty a folder that is not a kit.
if [ -e "$OUTDIR" ] && [ -n "$(ls -A "$OUTDIR" 2>/dev/null)" ] && [ ! -f "$OUTDIR/MANIFEST.txt" ]; then
    echo "make-kit.sh: $OUTDIR exists, is not empty and holds no MANIFEST.txt: not a kit, not touching it" >&2
    exit 2
fi
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
rm -rf "${OUTDIR:?}"/*
STAGE=$(mktemp -d /tmp/synapse-make-kit.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT

echo "== building $PRODUCTS (release, static Swift runtime) in $ROOT/.build-kit"
cd "$ROOT"
# synapse-bench is its own package (Benchmarks/Package.swift, which depends on the root package):
# all three tools are built through it, so the libraries are compiled once and share a bin folder.
BUILD=(swift build -c release --static-swift-stdlib --package-path Benchmarks --scratch-path .build-kit)
if [ "${KIT_SKIP_BUILD:-0}" != 1 ]; then
    for p in $PRODUCTS; do
        "${BUILD[@]}" --product "$p"
    done
fi
BINPATH=$("${BUILD[@]}" --show-bin-path)
mkdir -p "$STAGE/bin"
for p in $PRODUCTS; do
    if [ ! -x "$BINPATH/$p" ]; then
        echo "make-kit.sh: $BINPATH/$p was not built" >&2
        exit 1
    fi
    cp "$BINPATH/$p" "$STAGE/bin/$p"
    strip "$STAGE/bin/$p"
done
echo "== compressing the binaries (one xz stream, 256 MiB dictionary)"
tar -C "$STAGE" -cf - bin | xz -T1 -9 --lzma2=preset=9,dict=256MiB >"$OUTDIR/bin.tar.xz"

echo "== libOpenCL: ocl-icd-libopencl1 from apt, libclblast1 (CLBlast), and zlib1g (used by run.sh only if the machine lacks libz.so.1)"
mkdir -p "$OUTDIR/ocl"
for package in ocl-icd-libopencl1 libclblast1 zlib1g; do
    (cd "$OUTDIR/ocl" && apt-get download "$package" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    if ! ls "$OUTDIR/ocl/${package}_"*.deb >/dev/null 2>&1; then
        echo "make-kit.sh: 'apt-get download $package' fetched nothing (no network or no apt lists?)" >&2
        exit 1
    fi
done
# apt names epoch versions with '%3a' (zlib1g_1%3a1.2.13...): keep file names plain for the transfer.
for f in "$OUTDIR"/ocl/*%3a*; do
    [ -e "$f" ] && mv "$f" "${f//%3a/-}"
done

DATA_NOTE="no CIFAR data (KIT_DATA=none)"
if [ "$DATA_SRC" != none ]; then
    for f in data_batch_1.bin test_batch.bin batches.meta.txt; do
        if [ ! -f "$DATA_SRC/$f" ]; then
            echo "make-kit.sh: $DATA_SRC/$f not found (set KIT_DATA to a cifar-10-batches-bin folder, or 'none')" >&2
            exit 1
        fi
    done
    echo "== data: $TRAIN_RECORDS records of data_batch_1.bin, $TEST_RECORDS of test_batch.bin (xz)"
    mkdir -p "$OUTDIR/data"
    head -c $((TRAIN_RECORDS * RECORD)) "$DATA_SRC/data_batch_1.bin" | xz -T2 -6 >"$OUTDIR/data/data_batch_1.bin.xz"
    head -c $((TEST_RECORDS * RECORD)) "$DATA_SRC/test_batch.bin" | xz -T2 -6 >"$OUTDIR/data/test_batch.bin.xz"
    cp "$DATA_SRC/batches.meta.txt" "$OUTDIR/data/"
    DATA_NOTE="CIFAR-10 from $DATA_SRC: the first $TRAIN_RECORDS records of data_batch_1.bin and the first $TEST_RECORDS of test_batch.bin (the 64 MiB carry cannot hold all 92 MB), xz-compressed"
fi

cp "$HERE/run.sh" "$HERE/torch_step.py" "$OUTDIR/"
chmod +x "$OUTDIR/run.sh"

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)
TREE_BYTES=$(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
KIT_BYTES=$(du -sb "$OUTDIR" | cut -f1)
{
    echo "Synapse kit built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) from commit $COMMIT ($DIRTY changed or untracked paths in the tree)"
    echo "swift: $(swift --version 2>&1 | head -1)"
    echo "binaries (stripped, before compression):"
    for p in $PRODUCTS; do echo "  $p $(stat -c %s "$STAGE/bin/$p") bytes"; done
    echo "data: $DATA_NOTE"
    echo "kit: $KIT_BYTES bytes; working tree that travels with it: $TREE_BYTES bytes"
    echo "run: bash kit/run.sh \$OUT gpu   (or cpu for PoCL)"
    echo
    echo "files (bytes, sha256):"
    (cd "$OUTDIR" && find . -type f ! -name MANIFEST.txt | sort | while read -r f; do
        echo "  $f $(stat -c %s "$f") $(sha256sum "$f" | cut -c1-16)"
    done)
} >"$OUTDIR/MANIFEST.txt"
cat "$OUTDIR/MANIFEST.txt"

TOTAL=$((KIT_BYTES + TREE_BYTES))
if [ $TOTAL -gt $((MAX_MIB * 1024 * 1024)) ]; then
    echo "make-kit.sh: the kit plus the working tree weigh $TOTAL bytes, over KIT_MAX_MIB=$MAX_MIB MiB;" \
         "carry fewer data records (KIT_TRAIN_RECORDS / KIT_TEST_RECORDS) or KIT_DATA=none" >&2
    exit 1
fi
echo "== ok: $TOTAL bytes with the working tree ($((TOTAL / 1048576)) MiB of the ${MAX_MIB} MiB allowed)"
