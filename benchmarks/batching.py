"""One epoch of mini-batches (m = 64) over 1M x 10 float32 samples held in memory.

Supports the claim (chapter on SGD and mini-batches) that drawing batches with
gdcore costs what indexing costs: ``gd.Batches`` yields index arrays, and the
loop body is one fancy-indexing expression, ``x[idx]``. Contenders, each
fetching the (x, y) pairs of every batch of one shuffled epoch:

* gdcore, NumPy path: ``for idx in gd.Batches(n, 64): x[idx], y[idx]``;
* gdcore, torch path: the same with ``Batches(..., device=...)`` over torch
  tensors on that device (the permutation is made there by ``randperm``);
* gdcore ``Batches.of(x, y)`` on both paths: one gather per epoch, then each
  batch a contiguous slice (a view) of the permuted copy;
* raw fancy indexing, the floor: ``perm = permutation(n)`` then
  ``x[perm[i:i + m]]`` (NumPy and torch);
* ``torch.utils.data.DataLoader(TensorDataset(x, y), batch_size=64,
  shuffle=True)``, the usual PyTorch way.

Targets: gdcore >= 30x faster than the DataLoader and <= 1.5x raw indexing.

A DataLoader epoch over 1M samples takes several seconds, so it is timed on
part of the epoch: its set-up and first batch (when its sampler draws the
permutation) once, then the next ``--loader-batches`` batches, scaled per
batch to the rest of the epoch; the output says so. All contenders are
interleaved over ``--repeats`` rounds after a warm-up round, and medians are
compared.

    .venv/bin/python benchmarks/batching.py                 # CPU
    .venv/bin/python benchmarks/batching.py --device cuda   # torch path on a GPU
"""
import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

import gdcore as gd

N, FEATURES, M = 1_000_000, 10, 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda, for the torch path")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds")
    parser.add_argument("--loader-batches", type=int, default=1000,
                        help="DataLoader batches timed per round (scaled to an epoch)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU on this machine")

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((N, FEATURES), dtype=np.float32)
    y_np = rng.standard_normal(N, dtype=np.float32)
    x_cpu, y_cpu = torch.from_numpy(x_np), torch.from_numpy(y_np)
    x_dev, y_dev = x_cpu.to(device), y_cpu.to(device)
    steps = -(-N // M)
    seeds = iter(range(10**6))

    def gd_numpy():
        for idx in gd.Batches(N, M, seed=next(seeds)):
            xb, yb = x_np[idx], y_np[idx]
        return xb, yb

    def raw_numpy():
        perm = np.random.default_rng(next(seeds)).permutation(N)
        for i in range(0, N, M):
            idx = perm[i:i + M]
            xb, yb = x_np[idx], y_np[idx]
        return xb, yb

    def gd_torch():
        for idx in gd.Batches(N, M, seed=next(seeds), device=device):
            xb, yb = x_dev[idx], y_dev[idx]
        sync()
        return xb, yb

    def raw_torch():
        gen = torch.Generator(device=device).manual_seed(next(seeds))
        perm = torch.randperm(N, generator=gen, device=device)
        for i in range(0, N, M):
            idx = perm[i:i + M]
            xb, yb = x_dev[idx], y_dev[idx]
        sync()
        return xb, yb

    def gd_numpy_rows():
        for xb, yb in gd.Batches(N, M, seed=next(seeds)).of(x_np, y_np):
            pass
        return xb, yb

    def gd_torch_rows():
        for xb, yb in gd.Batches(N, M, seed=next(seeds), device=device).of(x_dev, y_dev):
            pass
        sync()
        return xb, yb

    def gd_numpy_indices_only():
        for idx in gd.Batches(N, M, seed=next(seeds)):
            pass
        return idx

    def gd_torch_indices_only():
        for idx in gd.Batches(N, M, seed=next(seeds), device=device):
            pass
        sync()
        return idx

    loader = DataLoader(TensorDataset(x_cpu, y_cpu), batch_size=M, shuffle=True)
    loader_setup, loader_batch = [], []

    def dataloader():
        start = time.perf_counter()
        batches = iter(loader)
        next(batches)                          # RandomSampler draws its permutation here
        loader_setup.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(args.loader_batches):
            xb, yb = next(batches)
            if device != "cpu":
                xb, yb = xb.to(device), yb.to(device)
        sync()
        loader_batch.append((time.perf_counter() - start) / args.loader_batches)

    epochs = {"gdcore NumPy path": gd_numpy, "raw NumPy indexing": raw_numpy,
              f"gdcore torch path ({device})": gd_torch,
              f"raw torch indexing ({device})": raw_torch,
              "gdcore NumPy Batches.of": gd_numpy_rows,
              f"gdcore torch Batches.of ({device})": gd_torch_rows,
              "gdcore NumPy indices alone": gd_numpy_indices_only,
              f"gdcore torch indices alone ({device})": gd_torch_indices_only}
    times = {name: [] for name in epochs}
    for name, epoch in epochs.items():        # warm-up round
        epoch()
    dataloader()
    loader_setup.clear()
    loader_batch.clear()
    contenders = list(epochs) + ["DataLoader"]
    for r in range(args.repeats):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for name in order:
            if name == "DataLoader":
                dataloader()
                continue
            start = time.perf_counter()
            epochs[name]()
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(values) for name, values in times.items()}
    loader_epoch = statistics.median(loader_setup) + (steps - 1) * statistics.median(loader_batch)

    where = (torch.cuda.get_device_name() if device.startswith("cuda")
             else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"torch threads {torch.get_num_threads()}")
    print(f"One shuffled epoch of {steps:,} batches of {M} over {N:,} x {FEATURES} float32 "
          f"(x and y per batch); device {device} ({where}); torch {torch.__version__}, "
          f"NumPy {np.__version__}")
    print(f"{args.repeats} interleaved rounds after a warm-up round; medians\n")
    print(f"DataLoader: its set-up and first batch timed once per round "
          f"({1e3 * statistics.median(loader_setup):.1f} ms), then {args.loader_batches} batches, "
          f"scaled per batch to the other {steps - 1:,}:")
    print(f"  {'DataLoader(TensorDataset), shuffle':<34} {loader_epoch:8.3f} s per epoch "
          f"({1e6 * statistics.median(loader_batch):.1f} us per batch)\n")
    print(f"  {'contender':<34} {'epoch s':>8} {'vs DataLoader':>14} {'vs raw indexing':>16}")
    pairs = [("gdcore NumPy path", "raw NumPy indexing"),
             ("gdcore NumPy Batches.of", "raw NumPy indexing"),
             (f"gdcore torch path ({device})", f"raw torch indexing ({device})"),
             (f"gdcore torch Batches.of ({device})", f"raw torch indexing ({device})")]
    for ours, raw in pairs:
        for name in (ours, raw):
            line = f"  {name:<34} {med[name]:8.3f} {loader_epoch / med[name]:13.1f}x faster"
            if name == ours:
                line += f" {med[ours] / med[raw]:11.2f}x time"
            print(line)
    print("\nof which gdcore itself (the index batches, without fetching any data):")
    for name in ("gdcore NumPy indices alone", f"gdcore torch indices alone ({device})"):
        print(f"  {name:<34} {med[name]:8.3f}")
    print("\ntargets: gdcore >= 30x faster than the DataLoader, <= 1.5x the time of raw indexing")


if __name__ == "__main__":
    main()
