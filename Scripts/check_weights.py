#!/usr/bin/env python3
"""Rebuilds a trained network from its <method>.weights.safetensors alone, in numpy, evaluates it on
the MNIST-format test files it reads itself, and compares with the accuracies the tool reported.

    python3 Scripts/check_weights.py --run RUN_DIR --data-dir DATA_DIR [--method si] [--tolerance 0.002]

Needs numpy and safetensors (pip install numpy safetensors). Exit status 0 when every final
task-incremental and class-incremental accuracy in RUN_DIR/<method>.json is reproduced within the
tolerance, 1 otherwise, 2 for bad input. Only the weights file's metadata is used to rebuild the
network and the tasks: the module list ("architecture"), each task's output units and data-set
labels ("heads"), and the test-set cap ("test_limit").
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open


def read_idx(folder, name):
    """An IDX file (plain or .gz) as a numpy array of its declared shape."""
    for path in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.exists(path):
            with open(path, "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            dims = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    sys.exit(f"check_weights: {folder}: expected {name} or {name}.gz")


def conv2d(x, weight, bias, padding):
    """Cross-correlation, stride 1, NCHW input, weight [K, C, R, R] (PyTorch's nn.Conv2d)."""
    n, c, h, w = x.shape
    k, _, r, _ = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    p, q = h + 2 * padding - r + 1, w + 2 * padding - r + 1
    columns = np.empty((n, c, r, r, p, q), dtype=np.float32)
    for i in range(r):
        for j in range(r):
            columns[:, :, i, j] = xp[:, :, i:i + p, j:j + q]
    out = np.einsum("ncrspq,kcrs->nkpq", columns, weight, optimize=True)
    return out + bias[None, :, None, None]


def forward(modules, tensors, x):
    for index, module in enumerate(modules):
        kind = module["type"]
        if kind == "Linear":
            x = x @ tensors[f"{index}.weight"].T + tensors[f"{index}.bias"]
        elif kind == "Conv2d":
            x = conv2d(x, tensors[f"{index}.weight"], tensors[f"{index}.bias"], module["padding"])
        elif kind == "ReLU":
            x = np.maximum(x, 0)
        elif kind == "MaxPool2d":
            n, c, h, w = x.shape
            x = x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
        elif kind == "Dropout":
            pass  # evaluation: identity
        elif kind == "Flatten":
            x = x.reshape(x.shape[0], -1)
        else:
            sys.exit(f"check_weights: unknown module type {kind!r}")
    return x


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="the tool's results folder")
    parser.add_argument("--data-dir", required=True, help="the MNIST-format folder the run read")
    parser.add_argument("--method", default="si")
    parser.add_argument("--tolerance", type=float, default=0.002)
    args = parser.parse_args()

    path = os.path.join(args.run, f"{args.method}.weights.safetensors")
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
    architecture = json.loads(metadata["architecture"])
    heads = json.loads(metadata["heads"])
    limit = None if metadata["test_limit"] == "none" else int(metadata["test_limit"])
    completed = int(metadata["completed_tasks"])

    images = read_idx(args.data_dir, "t10k-images-idx3-ubyte")
    labels = read_idx(args.data_dir, "t10k-labels-idx1-ubyte")
    shape = architecture["input_shape"]
    inputs = (images.reshape(len(images), -1).astype(np.float32) / np.float32(255)).reshape([len(images)] + shape)
    logits = forward(architecture["modules"], tensors, inputs).astype(np.float32)

    with open(os.path.join(args.run, f"{args.method}.json")) as f:
        report = json.load(f)
    row = completed - 1
    tool_task = report["accuracy"][row]
    tool_class = report["class_incremental_accuracy"][row]
    seen_end = heads["tasks"][row]["units"][1] if heads["mode"] == "multi-head" else heads["output_units"]

    worst = 0.0
    for t, task in enumerate(heads["tasks"]):
        if t >= len(tool_task):  # --evaluate seen: the row holds the tasks trained so far
            break
        if "source_classes" not in task:
            sys.exit(f"check_weights: task {task['name']!r} has no source_classes (its images are transformed); "
                     "only tasks cut from the data set by label can be rebuilt here")
        classes = task["source_classes"]
        chosen = np.nonzero(np.isin(labels, classes))[0]
        if limit is not None:
            chosen = chosen[:limit]
        start, end = task["units"]
        local = np.array([classes.index(int(label)) for label in labels[chosen]])
        target = start + local
        own = start + np.argmax(logits[chosen, start:end], axis=1)
        ours_task = float(np.mean(own == target))
        line = f"task {t + 1} ({task['name']}): task-incremental {ours_task:.4f} (tool {tool_task[t]:.4f})"
        worst = max(worst, abs(ours_task - tool_task[t]))
        if tool_class[t] is not None:
            seen = np.argmax(logits[chosen, 0:seen_end], axis=1)
            ours_class = float(np.mean(seen == target))
            line += f", class-incremental {ours_class:.4f} (tool {tool_class[t]:.4f})"
            worst = max(worst, abs(ours_class - tool_class[t]))
        print(line)
    print(f"largest difference {worst:.4f} (tolerance {args.tolerance})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
