#!/usr/bin/env bash
# Installs what Synapse needs (Debian/Ubuntu) and runs split MNIST on Fashion-MNIST, SI beside fine-tuning.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd zlib1g-dev dataset-fashion-mnist
swift run -c release split-mnist --data-dir /usr/share/datasets/fashion-mnist --method si,finetune "$@"
