#!/bin/bash
# The GPU-style kernels under Oclgrind, an OpenCL device simulator that reports out-of-bounds
# accesses, invalid API use, barrier divergence and (--data-races) races between work-items.
# Runs `synapse-check --device gpu --small` (Oclgrind shows up as a GPU device, so the GPU style
# is built) and fails when any check fails OR Oclgrind reported anything at all.
#
# Usage: Scripts/oclgrind-check.sh SYNAPSE-CHECK-BINARY [LOGDIR]
#   LOGDIR (default: a fresh folder under /tmp) receives check.txt (the checks' table) and
#   oclgrind.log (Oclgrind's messages: must stay empty).
# Environment: OCLGRIND_ARGS (default "--data-races --check-api"), SYNAPSE_CHECK_ARGS (default
#   "--small --every-tile": the small checks, then every other tile candidate of each GPU tile table
#   on three checks of each op it serves).
set -u
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: oclgrind-check.sh SYNAPSE-CHECK-BINARY [LOGDIR]  (the binary must exist and be executable)" >&2
    exit 2
fi
CHECK=$1
LOGDIR=${2:-$(mktemp -d /tmp/synapse-oclgrind.XXXXXX)}
mkdir -p "$LOGDIR" || { echo "oclgrind-check.sh: cannot create '$LOGDIR'" >&2; exit 2; }
command -v oclgrind >/dev/null || { echo "oclgrind-check.sh: oclgrind is not installed (apt-get install oclgrind)" >&2; exit 2; }
LOG=$LOGDIR/oclgrind.log
: >"$LOG"
# No kernel cache (Oclgrind's program binaries are its own IR) and no tile timing under a
# simulator: the table defaults are what a GPU gets before it is tuned.
# shellcheck disable=SC2086  # the *_ARGS variables are word lists on purpose
SYNAPSE_KERNEL_CACHE=off SYNAPSE_TUNE=off oclgrind ${OCLGRIND_ARGS:---data-races --check-api} --log "$LOG" \
    "$CHECK" --device gpu ${SYNAPSE_CHECK_ARGS:---small --every-tile} >"$LOGDIR/check.txt" 2>&1
STATUS=$?
tail -n 3 "$LOGDIR/check.txt"
if [ -s "$LOG" ]; then
    echo "oclgrind-check.sh: Oclgrind reported $(grep -c . "$LOG") line(s) of errors or warnings ($LOG); the first:" >&2
    head -n 40 "$LOG" >&2
    exit 1
fi
if [ $STATUS -ne 0 ]; then
    echo "oclgrind-check.sh: synapse-check failed under Oclgrind (exit $STATUS); see $LOGDIR/check.txt" >&2
    grep -E 'MISMATCH|error:' "$LOGDIR/check.txt" | head -n 20 >&2
    exit 1
fi
echo "oclgrind-check.sh: every check passed and Oclgrind reported nothing ($LOGDIR)"
