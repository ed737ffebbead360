#!/bin/bash
# Synapse kit, run side: the kernel checks, the tile tuner and the benchmark (with CLBlast's SGEMM
# beside ours), PyTorch's version of the same training step, and a short split-CIFAR-10 run, on a
# machine with no Swift toolchain and no network.
#
# Usage: run.sh OUTDIR [gpu|cpu]
#   OUTDIR  where the logs go (created). At most 8 files, so that all of them come back from a
#           device machine: run.log (what was found, each step's exit status, the summary lines),
#           env.log, check.log, bench.log, bench-DEVICE.json, torch.log, torch.json, cifar.log.
#   gpu     NVIDIA's OpenCL driver (libnvidia-opencl.so.1, found with ldconfig or under
#           /usr/local/nvidia and /usr/lib*); cpu: PoCL (from /etc/OpenCL/vendors/pocl.icd).
# Environment:
#   SYNAPSE_ICD_LIB   the OpenCL driver library to use instead of searching for one
#   KIT_LIMITS        seconds each step may run, "check bench torch cifar" (default "90 200 100 120":
#                     510 s, plus at most 60 s for the FP32 peak, inside the device tool's 600 s)
#   KIT_CIFAR_EPOCHS  epochs per task of the short split-CIFAR-10 run (default 2)
#   KIT_BENCH_ARGS, KIT_CHECK_ARGS, KIT_TORCH_ARGS, KIT_CIFAR_ARGS   extra arguments of each step
#   KIT_SKIP          space-separated steps to skip: check bench torch cifar
# Every step runs even when an earlier one failed; the exit status is the number of failed steps.
set -u

KIT=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
    echo "usage: run.sh OUTDIR [gpu|cpu]" >&2
    exit 2
fi
OUT=$1
DEVICE=${2:-gpu}
case $DEVICE in
    gpu|cpu) ;;
    *) echo "run.sh: the device must be 'gpu' or 'cpu', found '$DEVICE'" >&2; exit 2 ;;
esac
mkdir -p "$OUT" || { echo "run.sh: cannot create the output folder '$OUT'" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
read -r LIMIT_CHECK LIMIT_BENCH LIMIT_TORCH LIMIT_CIFAR <<<"${KIT_LIMITS:-90 200 100 120}"
for v in "$LIMIT_CHECK" "$LIMIT_BENCH" "$LIMIT_TORCH" "$LIMIT_CIFAR"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "run.sh: KIT_LIMITS must be four whole numbers of seconds, found '${KIT_LIMITS:-}'" >&2; exit 2; }
done
EPOCHS=${KIT_CIFAR_EPOCHS:-2}
SKIP=" ${KIT_SKIP:-} "
WORK=$(mktemp -d /tmp/synapse-kit.XXXXXX)
LOG=$OUT/run.log
: >"$LOG"
FAILED=0

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$LOG"; }

# step NAME LOGFILE LIMIT COMMAND...: runs COMMAND for at most LIMIT seconds, output to LOGFILE,
# status to run.log.
step() {
    local name=$1 file=$2 limit=$3
    shift 3
    if [[ $SKIP == *" $name "* ]]; then
        log "step $name: skipped (KIT_SKIP)"
        return
    fi
    log "step $name: $*"
    local t0 t1 rc
    t0=$(date +%s.%N)
    timeout --kill-after=10 "$limit" "$@" >"$file" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc -eq 0 ]; then
        log "step $name: ok in ${secs}s -> $(basename "$file")"
    else
        [ $rc -eq 124 ] && log "step $name: stopped at its ${limit}s limit"
        log "step $name: FAILED (exit $rc) after ${secs}s -> $(basename "$file"); its last lines:"
        tail -n 15 "$file" | sed 's/^/    /' | tee -a "$LOG"
        FAILED=$((FAILED + 1))
    fi
}

log "Synapse kit at $KIT, device $DEVICE, output $OUT, scratch $WORK"
[ -f "$KIT/MANIFEST.txt" ] && sed -n '1,12p' "$KIT/MANIFEST.txt" | sed 's/^/    /' | tee -a "$LOG"

# --- the binaries: xz-compressed tar (the three share most of their bytes), python3 as fallback.
unpack_xz_tar() { # ARCHIVE DEST
    if command -v xz >/dev/null 2>&1; then
        xz -dc "$1" | tar -xf - -C "$2"
    else
        python3 -c 'import lzma, sys, tarfile; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' "$1" "$2"
    fi
}
unxz_to() { # FILE.xz DEST
    if command -v xz >/dev/null 2>&1; then
        xz -dc "$1" >"$2"
    else
        python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
    fi
}
BIN=$WORK/bin
if [ -f "$KIT/bin.tar.xz" ]; then
    unpack_xz_tar "$KIT/bin.tar.xz" "$WORK" || log "could not unpack $KIT/bin.tar.xz"
elif [ -d "$KIT/bin" ]; then
    cp -r "$KIT/bin" "$BIN"
fi
chmod +x "$BIN"/* 2>/dev/null
for b in synapse-check synapse-bench cifar-split; do
    [ -x "$BIN/$b" ] || log "missing binary: $BIN/$b"
done

# --- libOpenCL from ocl-icd (the .deb, unpacked here), and a one-line ICD file for the driver.
OCL=$WORK/ocl-icd
mkdir -p "$OCL"
DEB=$(ls "$KIT"/ocl/ocl-icd-libopencl1_*.deb 2>/dev/null | head -1)
if [ -z "$DEB" ]; then
    log "no ocl-icd-libopencl1 .deb in $KIT/ocl"
elif command -v dpkg >/dev/null 2>&1; then
    dpkg -x "$DEB" "$OCL" || log "dpkg -x $DEB failed"
else
    (cd "$OCL" && ar x "$DEB" && tar -xf data.tar.* ) || log "could not unpack $DEB without dpkg"
fi
LIBDIR=$(dirname "$(find "$OCL" -name 'libOpenCL.so.1*' | head -1)" 2>/dev/null)
[ -e "$LIBDIR/libOpenCL.so.1" ] || log "libOpenCL.so.1 not found after unpacking $DEB"

# CLBlast (libclblast.so.1), for synapse-bench --clblast: unpacked beside libOpenCL.
CLBLAST_ARGS=()
CDEB=$(ls "$KIT"/ocl/libclblast1_*.deb 2>/dev/null | head -1)
if [ -n "$CDEB" ] && { dpkg -x "$CDEB" "$WORK/clblast" 2>/dev/null \
        || (mkdir -p "$WORK/clblast" && cd "$WORK/clblast" && ar x "$CDEB" && tar -xf data.tar.*); }; then
    CLBLAST_LIB=$(find "$WORK/clblast" -name 'libclblast.so.1*' | head -1)
    if [ -n "$CLBLAST_LIB" ]; then
        CLBLAST_ARGS=(--clblast "$CLBLAST_LIB")
        log "CLBlast: $CLBLAST_LIB (from $(basename "$CDEB"))"
    fi
fi
[ ${#CLBLAST_ARGS[@]} -eq 0 ] && log "no CLBlast in the kit: the benchmark runs without --clblast"

find_driver() {
    if [ -n "${SYNAPSE_ICD_LIB:-}" ]; then
        echo "$SYNAPSE_ICD_LIB"
        return
    fi
    local p=""
    if [ "$DEVICE" = gpu ]; then
        p=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 / { print $NF; exit }')
        if [ -z "$p" ]; then
            p=$(find /usr/local/nvidia /usr/lib /usr/lib64 /usr/lib/x86_64-linux-gnu \
                    -name 'libnvidia-opencl.so*' 2>/dev/null | sort | head -1)
        fi
        [ -z "$p" ] && [ -f /etc/OpenCL/vendors/nvidia.icd ] && p=$(head -1 /etc/OpenCL/vendors/nvidia.icd)
    else
        [ -f /etc/OpenCL/vendors/pocl.icd ] && p=$(head -1 /etc/OpenCL/vendors/pocl.icd)
        [ -z "$p" ] && p=$(ldconfig -p 2>/dev/null | awk '/libpocl\.so/ { print $NF; exit }')
    fi
    echo "$p"
}
DRIVER=$(find_driver)
VENDORS=$WORK/vendors
mkdir -p "$VENDORS"
if [ -z "$DRIVER" ]; then
    log "no OpenCL driver library found for '$DEVICE' (set SYNAPSE_ICD_LIB to its path)"
else
    echo "$DRIVER" >"$VENDORS/synapse-$DEVICE.icd"
    log "ICD file $VENDORS/synapse-$DEVICE.icd names: $DRIVER"
fi
export OCL_ICD_VENDORS=$VENDORS
# The driver's own folder too: NVIDIA's OpenCL library loads libcuda.so.1 from beside it.
EXTRA=""
case $DRIVER in /*) EXTRA=":$(dirname "$DRIVER")" ;; esac
export LD_LIBRARY_PATH=$LIBDIR$EXTRA${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# The binaries also need libz.so.1 (and libstdc++, which any machine with PyTorch has).
if ! ldconfig -p 2>/dev/null | grep -q 'libz\.so\.1 '; then
    ZDEB=$(ls "$KIT"/ocl/zlib1g_*.deb 2>/dev/null | head -1)
    if [ -n "$ZDEB" ] && dpkg -x "$ZDEB" "$WORK/zlib" 2>/dev/null; then
        ZDIR=$(dirname "$(find "$WORK/zlib" -name 'libz.so.1*' | head -1)")
        export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$ZDIR
        log "no libz.so.1 on this machine: using the kit's, from $ZDEB"
    else
        log "no libz.so.1 on this machine and none unpacked from the kit"
    fi
fi
log "OCL_ICD_VENDORS=$OCL_ICD_VENDORS LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

# --- the machine and the devices, first, into env.log.
{
    echo "== uname"; uname -a
    echo "== cpu"; grep -m1 'model name' /proc/cpuinfo; nproc
    echo "== memory"; grep -E 'MemTotal|MemAvailable' /proc/meminfo
    echo "== nvidia-smi"; nvidia-smi 2>&1 | head -20
    echo "== OpenCL libraries seen by ldconfig"; ldconfig -p 2>/dev/null | grep -i -E 'opencl|pocl|libcuda\.'
    echo "== ldd synapse-bench"; ldd "$BIN/synapse-bench" 2>&1
    echo "== synapse-bench --list-devices"; timeout 120 "$BIN/synapse-bench" --list-devices 2>&1
    echo "== clinfo -l"; command -v clinfo >/dev/null && timeout 60 clinfo -l 2>&1
    echo "== python3 / torch"
    timeout 120 python3 -c 'import torch, sys; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1
} >"$OUT/env.log" 2>&1
sed -n '/== synapse-bench --list-devices/,/== clinfo/p' "$OUT/env.log" | sed 's/^/    /' | tee -a "$LOG"

# --- 1. kernel checks, 2. benchmark, 3. PyTorch, 4. a short split-CIFAR-10 run.
# Peak resident memory of a command (the issue's bar for cifar-split), without /usr/bin/time: a
# script, since `timeout` runs programs, not shell functions.
cat >"$WORK/peak_rss.py" <<'PY'
import resource, subprocess, sys
status = subprocess.call(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print("peak RSS of %s: %d bytes (%.1f MiB)" % (sys.argv[1].rsplit("/", 1)[-1], peak, peak / 2**20), flush=True)
sys.exit(status)
PY

# The device's practical FP32 peak for the benchmark's "fraction of peak": PyTorch's float32
# matrix product (cuBLAS on the GPU, TF32 off), as numpy's sgemm is on this project's CPU.
if [ "$DEVICE" = gpu ]; then TORCH_DEVICE=cuda; else TORCH_DEVICE=cpu; fi
PEAK_ARGS=()
if [[ $SKIP != *" torch "* ]]; then
    timeout 60 python3 "$KIT/torch_step.py" --peak --device "$TORCH_DEVICE" >"$WORK/peak.txt" 2>&1
    PEAK=$(sed -n 's/^PEAK sgemm_gflops=\([0-9.]*\).*/\1/p' "$WORK/peak.txt")
    PEAK_N=$(sed -n 's/^PEAK .* n=\([0-9]*\).*/\1/p' "$WORK/peak.txt")
    { echo "== FP32 sgemm peak (torch_step.py --peak)"; cat "$WORK/peak.txt"; } >>"$OUT/env.log"
    if [ -n "$PEAK" ]; then
        PEAK_ARGS=(--peak-gflops "$PEAK" --peak-source "PyTorch float32 matmul n=$PEAK_N on $TORCH_DEVICE, TF32 off")
        log "FP32 peak from PyTorch's sgemm: $PEAK GFLOP/s (passed to synapse-bench)"
    else
        log "no FP32 peak from PyTorch (see env.log); synapse-bench uses its best GEMM"
    fi
fi

# shellcheck disable=SC2086  # the *_ARGS variables are word lists on purpose
step check "$OUT/check.log" "$LIMIT_CHECK" "$BIN/synapse-check" --device "$DEVICE" ${KIT_CHECK_ARGS:-}
# shellcheck disable=SC2086
step bench "$OUT/bench.log" "$LIMIT_BENCH" "$BIN/synapse-bench" --device "$DEVICE" --json "$OUT/bench-$DEVICE.json" \
    --tune "${CLBLAST_ARGS[@]}" "${PEAK_ARGS[@]}" ${KIT_BENCH_ARGS:-}
# shellcheck disable=SC2086
step torch "$OUT/torch.log" "$LIMIT_TORCH" env PYTHONUNBUFFERED=1 python3 "$KIT/torch_step.py" \
    --device "$TORCH_DEVICE" --json "$OUT/torch.json" ${KIT_TORCH_ARGS:-}

DATA=$WORK/data/cifar-10-batches-bin
if [ -d "$KIT/data" ]; then
    mkdir -p "$DATA"
    for f in "$KIT"/data/*; do
        case $f in
            *.xz) unxz_to "$f" "$DATA/$(basename "${f%.xz}")" || log "could not unpack $f" ;;
            *) cp "$f" "$DATA/" ;;
        esac
    done
    log "data: $(ls -l "$DATA" | tail -n +2 | awk '{ printf "%s %s bytes; ", $NF, $5 }')"
    # shellcheck disable=SC2086
    step cifar "$OUT/cifar.log" "$LIMIT_CIFAR" python3 "$WORK/peak_rss.py" "$BIN/cifar-split" --split cifar10 \
        --data-dir "$WORK/data" --device "$DEVICE" --epochs "$EPOCHS" --method si --out "$WORK/cifar-run" \
        ${KIT_CIFAR_ARGS:-}
else
    log "step cifar: skipped, the kit carries no CIFAR data"
fi

# --- the summary: every figure line, so that run.log alone tells the story.
{
    echo "== summary ($FAILED failed steps)"
    grep -h -E '^SUMMARY' "$OUT"/*.log 2>/dev/null
    grep -h -E -i 'checks passed|mismatch' "$OUT/check.log" 2>/dev/null | tail -n 10
    grep -h -E '^(training step|inference|peak|converged|FAILED)|^  \* |^  (NN|dense1)' "$OUT/bench.log" 2>/dev/null
    grep -h -E -i 'done in|img/s|peak RSS' "$OUT/cifar.log" 2>/dev/null | tail -n 12
} | tee -a "$LOG"
rm -rf "$WORK"
exit $FAILED
