"""Time per sample of a dense layer (a batch of m inputs times a weight matrix) for
batch sizes around and between powers of two, as ratios to m = 128.

Supports the chapter on SGD and mini-batches, section "Batch sizes should be
powers of two": on a CPU the time per sample does not favour powers of two, and
m = 100 costs about what m = 128 costs per sample. Sizes: each power of two 64,
128, 256 with its neighbours (m - 1, m + 1), the multiples of 8 and 32 that are
not powers of two (96, 120, 192) and 100, a multiple of neither.

Contenders: ``A[:m] @ W`` with float32 NumPy arrays on the CPU (weights
``--width`` x ``--width``, default 512) and, with ``--device cuda``, the same
product in torch float16 on the GPU (default width 4096), synchronised. Every
round times all sizes once, in a rotated order, so that a burst of load falls
on all sizes alike; each size's time is the median over ``--repeats`` rounds,
each round the best of ``--inner`` products.

    .venv/bin/python benchmarks/batch_sizes.py                 # CPU, NumPy
    .venv/bin/python benchmarks/batch_sizes.py --device cuda   # GPU, torch float16
"""
import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

SIZES = [63, 64, 65, 96, 100, 120, 127, 128, 129, 192, 255, 256, 257]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default, NumPy) or cuda (torch float16)")
    parser.add_argument("--width", type=int, default=None, help="weight matrix width (512 CPU, 4096 GPU)")
    parser.add_argument("--repeats", type=int, default=21, help="timed rounds")
    parser.add_argument("--inner", type=int, default=5, help="products per size and round (best kept)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: torch sees no GPU on this machine")
        width = args.width or 4096
        A = torch.randn(max(SIZES), width, device=args.device, dtype=torch.float16)
        W = torch.randn(width, width, device=args.device, dtype=torch.float16)

        def product(m):
            A[:m] @ W
            torch.cuda.synchronize()
        where = f"{torch.cuda.get_device_name()}, torch float16"
    else:
        width = args.width or 512
        A = np.random.default_rng(0).standard_normal((max(SIZES), width)).astype(np.float32)
        W = np.random.default_rng(1).standard_normal((width, width)).astype(np.float32)

        def product(m):
            A[:m] @ W
        where = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, NumPy float32"

    for m in SIZES:  # warm-up
        product(m)
    per_sample = {m: [] for m in SIZES}
    for r in range(args.repeats):
        for m in SIZES[r % len(SIZES):] + SIZES[:r % len(SIZES)]:
            best = float("inf")
            for _ in range(args.inner):
                start = time.perf_counter()
                product(m)
                best = min(best, time.perf_counter() - start)
            per_sample[m].append(best / m)
    median = {m: statistics.median(v) for m, v in per_sample.items()}
    spread = {m: (statistics.quantiles(v, n=4)[2] - statistics.quantiles(v, n=4)[0]) / median[m]
              for m, v in per_sample.items()}

    print(f"dense layer, {width} x {width} weights, device {args.device} ({where}); "
          f"{args.repeats} interleaved rounds, medians")
    print(f"{'m':>5} {'per sample vs m = 128':>22} {'interquartile spread':>21}")
    for m in SIZES:
        print(f"{m:>5} {median[m] / median[128]:22.2f} {spread[m]:20.0%}")
    for p in (64, 128, 256):
        print(f"power of two {p}: per sample {median[p - 1] / median[p]:.2f}x ({p - 1}) and "
              f"{median[p + 1] / median[p]:.2f}x ({p + 1}) its time")
    print(f"m = 100 costs {median[100] / median[128]:.2f}x the time per sample of m = 128")


if __name__ == "__main__":
    main()
