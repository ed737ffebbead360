#!/usr/bin/env python3
"""PyTorch eager version of Synapse's training step, for a side-by-side ratio on the same device.

The split-CIFAR CNN of docs/algorithm.md (NCHW): conv32 'same' + ReLU, conv32 'valid' + ReLU, maxpool 2x2,
dropout 0.25, conv64 'same' + ReLU, conv64 'valid' + ReLU, maxpool 2x2, dropout 0.25,
dense 512 + ReLU, dropout 0.5, dense UNITS (multi-head: only the live task's units enter the
softmax). Adam 1e-3, batch 256, Keras-style initialisation does not matter for speed.

One training step is what Synapse's trainer enqueues: gather a minibatch of uint8 images already
on the device and scale by 1/255, forward, softmax cross-entropy over the live units, backward,
then the optimizer. Two optimizer variants are timed:
  adam - torch.optim.Adam (PyTorch's default implementation for the device), i.e. c = 0;
  si   - the same Adam step plus Synaptic Intelligence done as a PyTorch user would write it
         (surrogate gradient g + 2c*Omega*(theta - theta*), omega -= g_task * delta), with
         torch._foreach ops.
Precision: 'fp32' turns TF32 off everywhere (what Synapse computes); 'default' leaves PyTorch's
defaults (cuDNN convolutions may use TF32 tensor cores on Ampere and later).

Timing: warm-up steps, then REPEATS runs of STEPS steps each; each run is timed with CUDA events
(or wall clock + synchronize on the CPU) and the median run gives images/s. No host wait inside
a run. Prints one SUMMARY line per configuration and writes every figure to --json.

Usage: python3 torch_step.py [--device cuda|cpu] [--json FILE] [--units 10] [--batch 256]
                             [--steps 20] [--repeats 5] [--warmup 5] [--precision fp32,default]
       python3 torch_step.py --peak [--device cuda|cpu]
  --peak prints only "PEAK sgemm_gflops=X n=N": the device's practical FP32 peak, a float32
  matrix product (TF32 off) of n = 8192 on a GPU or 2048 on the CPU, median of 5 after 2 warm-ups.
  The kit passes it to synapse-bench as --peak-gflops.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# FLOP per image of this network (10 output units), from ../../shared/peers/flops.py: forward and
# one whole training step (forward + both backward GEMMs per layer).
FORWARD_FLOP, TRAIN_FLOP = 41.482e6, 122.677e6
# PyTorch's own TF32 settings (matmul, cuDNN), restored for the 'default' precision runs.
DEFAULT_TF32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)


class SplitCIFARNet(nn.Module):
    def __init__(self, units):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 32, 3)
        self.c3 = nn.Conv2d(32, 64, 3, padding=1)
        self.c4 = nn.Conv2d(64, 64, 3)
        self.d1 = nn.Linear(64 * 6 * 6, 512)
        self.d2 = nn.Linear(512, units)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.dropout(x, 0.25, self.training)
        x = F.relu(self.c3(x))
        x = F.max_pool2d(F.relu(self.c4(x)), 2)
        x = F.dropout(x, 0.25, self.training)
        x = F.dropout(F.relu(self.d1(x.flatten(1))), 0.5, self.training)
        return self.d2(x)


class Timer:
    """CUDA events on a GPU, wall clock after synchronize elsewhere; returns seconds."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def time(self, fn, iterations):
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iterations):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        for _ in range(iterations):
            fn()
        return time.perf_counter() - t0


def measure(args, device, precision, optimizer_kind):
    if device.type == "cuda":
        default = precision == "default"
        torch.backends.cuda.matmul.allow_tf32 = DEFAULT_TF32[0] if default else False
        torch.backends.cudnn.allow_tf32 = DEFAULT_TF32[1] if default else False
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    model = SplitCIFARNet(args.units).to(device)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    # The training set as it lives on the device in Synapse: uint8 images, int32 labels.
    generator = torch.Generator(device="cpu").manual_seed(0)
    pool = 10 * args.batch
    images = torch.randint(0, 256, (pool, 3, 32, 32), dtype=torch.uint8, generator=generator).to(device)
    labels = torch.randint(0, 10, (pool,), generator=generator).to(device)
    # Multi-head: only task 0's ten units are live (a slice, as Synapse masks them).
    live = slice(0, min(10, args.units))
    if optimizer_kind == "si":
        anchor = [p.detach().clone() for p in params]
        importance = [torch.rand_like(p) for p in params]
        omega = [torch.zeros_like(p) for p in params]
        strength = 0.1
    step_index = [0]

    def train_step():
        k = step_index[0] % 10
        step_index[0] += 1
        idx = torch.arange(k * args.batch, (k + 1) * args.batch, device=device)
        x = images.index_select(0, idx).float().mul_(1.0 / 255.0)
        y = labels.index_select(0, idx)
        logits = model(x)[:, live]
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if optimizer_kind == "si":
            grads = [p.grad for p in params]
            task_grads = [g.clone() for g in grads]
            before = [p.detach().clone() for p in params]
            # g <- g_task + 2c * Omega * (theta - theta*)
            diff = torch._foreach_sub([p.detach() for p in params], anchor)
            torch._foreach_mul_(diff, importance)
            torch._foreach_add_(grads, diff, alpha=2 * strength)
            opt.step()
            # omega <- omega - g_task * (theta_new - theta_old)
            delta = torch._foreach_sub([p.detach() for p in params], before)
            torch._foreach_mul_(delta, task_grads)
            torch._foreach_sub_(omega, delta)
        else:
            opt.step()

    x_infer = images[: args.batch].float().mul_(1.0 / 255.0)

    def infer_step():
        with torch.no_grad():
            model(x_infer)

    timer = Timer(device)
    model.train()
    timer.time(train_step, args.warmup)
    train_runs = [timer.time(train_step, args.steps) for _ in range(args.repeats)]
    model.eval()
    timer.time(infer_step, args.warmup)
    infer_runs = [timer.time(infer_step, args.steps) for _ in range(args.repeats)]
    train = args.batch * args.steps / statistics.median(train_runs)
    infer = args.batch * args.steps / statistics.median(infer_runs)
    result = {
        "framework": f"pytorch {torch.__version__}",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "precision": precision,
        "optimizer": optimizer_kind,
        "batch": args.batch,
        "units": args.units,
        "train_images_per_second": train,
        "infer_images_per_second": infer,
        "train_gflops": train * TRAIN_FLOP / 1e9,
        "infer_gflops": infer * FORWARD_FLOP / 1e9,
        "train_step_ms_runs": [1e3 * t / args.steps for t in train_runs],
        "infer_ms_runs": [1e3 * t / args.steps for t in infer_runs],
    }
    if device.type == "cuda":
        result["peak_device_bytes"] = torch.cuda.max_memory_allocated(device)
    return result


def sgemm_peak(device):
    """GFLOP/s of a float32 n×n×n matrix product (TF32 off): the practical FP32 peak."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
    n = 8192 if device.type == "cuda" else 2048
    generator = torch.Generator(device="cpu").manual_seed(0)
    a = torch.rand((n, n), generator=generator).to(device)
    b = torch.rand((n, n), generator=generator).to(device)
    timer = Timer(device)
    timer.time(lambda: torch.mm(a, b), 2)
    seconds = statistics.median(timer.time(lambda: torch.mm(a, b), 1) for _ in range(5))
    return 2.0 * n ** 3 / seconds / 1e9, n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--units", type=int, default=10, help="output units (10, or 60 for split CIFAR-10/100)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=20, help="steps per timed run")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--precision", default="fp32,default", help="comma list of fp32, default")
    ap.add_argument("--optimizers", default="adam,si", help="comma list of adam, si")
    ap.add_argument("--peak", action="store_true", help="print only the FP32 sgemm peak (PEAK line)")
    args = ap.parse_args()
    for name, value in (("--units", args.units), ("--batch", args.batch), ("--steps", args.steps),
                        ("--repeats", args.repeats)):
        if value < 1:
            sys.exit(f"torch_step.py: {name} must be at least 1, found {value}")
    if args.warmup < 0:
        sys.exit(f"torch_step.py: --warmup must be at least 0, found {args.warmup}")
    precisions = args.precision.split(",")
    optimizers = args.optimizers.split(",")
    for p in precisions:
        if p not in ("fp32", "default"):
            sys.exit(f"torch_step.py: --precision takes fp32 and/or default, found '{p}'")
    for o in optimizers:
        if o not in ("adam", "si"):
            sys.exit(f"torch_step.py: --optimizers takes adam and/or si, found '{o}'")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_step.py: --device cuda asked for, but torch.cuda.is_available() is False")
    if args.peak:
        gflops, n = sgemm_peak(device)
        print(f"PEAK sgemm_gflops={gflops:.1f} n={n} device={device} torch={torch.__version__}", flush=True)
        return
    if device.type == "cpu":
        precisions = ["fp32"]  # TF32 is a GPU matter
    print(f"# torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}", flush=True)
    results = []
    for precision in precisions:
        for optimizer_kind in optimizers:
            r = measure(args, device, precision, optimizer_kind)
            results.append(r)
            extra = f" peak_device={r['peak_device_bytes'] / 2**20:.0f}MiB" if "peak_device_bytes" in r else ""
            print(f"SUMMARY pytorch-eager device={r['device'].replace(' ', '_')} precision={precision} "
                  f"optimizer={optimizer_kind} train={r['train_images_per_second']:.1f} img/s "
                  f"({r['train_gflops']:.1f} GFLOP/s) infer={r['infer_images_per_second']:.1f} img/s "
                  f"({r['infer_gflops']:.1f} GFLOP/s){extra}", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"# peak RSS {rss / 2**20:.0f} MiB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "peak_rss_bytes": rss}, f, indent=1)


if __name__ == "__main__":
    main()
