"""One Adam step on 10 million float32 parameters: gdcore against torch.optim.Adam.

Supports the claim (chapters on Adam and on training with torch) that gdcore's
one-formula design costs nothing that matters: the same rule code serves
``gd.torch_optim.Adam`` (a ``torch.optim.Optimizer``) and ``gd.Adam`` (NumPy),
and both are compared here with ``torch.optim.Adam`` at its default settings.
Targets: torch path <= 1.3x and NumPy path <= 2x torch.optim.Adam's step time.

The machine may be noisy and shared, so the contenders are interleaved (each
repetition times one step of each, in a rotating order), every one is warmed
up first, and the script reports each one's median and the ratio of medians
(with the interquartile range of the per-repetition ratios as a noise gauge).

    .venv/bin/python benchmarks/adam_step.py                 # CPU
    .venv/bin/python benchmarks/adam_step.py --device cuda   # a GPU (torch paths only)
    .venv/bin/python benchmarks/adam_step.py --breakdown     # where the time goes
"""
import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

import gdcore as gd
from gdcore import backend, rules, torch_optim, validate


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--size", type=int, default=10_000_000, help="number of parameters")
    parser.add_argument("--repeats", type=int, default=40, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per contender first")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the parts of a gdcore torch-path step")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    return parser.parse_args()


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def make_contenders(size, device):
    """name -> a function making one Adam step; all start from the same numbers."""
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(size, generator=gen)
    grad = torch.randn(size, generator=gen)

    def torch_param():
        p = start.clone().to(device).requires_grad_()
        p.grad = grad.clone().to(device)
        return p

    p_ref, p_gd = torch_param(), torch_param()
    reference = torch.optim.Adam([p_ref])
    ours = torch_optim.Adam([p_gd])
    contenders = {"torch.optim.Adam": reference.step, "gd.torch_optim.Adam": ours.step}
    if device == "cpu":
        theta, g = start.numpy().copy(), grad.numpy().copy()
        numpy_opt = gd.Adam(theta)
        contenders["gd.Adam (NumPy)"] = lambda: numpy_opt.step(g)
    return contenders


def time_interleaved(contenders, repeats, warmup, device):
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    synchronize(device)
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]   # rotate who goes first
        for name in order:
            synchronize(device)
            start = time.perf_counter()
            contenders[name]()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def report(times, baseline="torch.optim.Adam"):
    base = times[baseline]
    print(f"{'contender':<22} {'median ms':>10} {'ratio of medians':>17} "
          f"{'per-rep ratio IQR':>18}")
    for name, values in times.items():
        ratio = statistics.median(values) / statistics.median(base)
        per_rep = [a / b for a, b in zip(values, base)]
        low, high = quartiles(per_rep)
        print(f"{name:<22} {1e3 * statistics.median(values):>10.2f} {ratio:>16.2f}x "
              f"{low:>11.2f}-{high:.2f}x")


def breakdown(size, device, repeats):
    """Median time of each part of a gdcore torch-path Adam step, next to the whole step."""
    gen = torch.Generator().manual_seed(1)
    p = torch.randn(size, generator=gen).to(device).requires_grad_()
    p.grad = torch.randn(size, generator=gen).to(device)
    opt = torch_optim.Adam([p])
    opt.step()
    state = opt.state[p]
    hyper = {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False}
    denom = torch.sqrt(state["exp_avg_sq"]).add_(1e-8)
    parts = {
        "whole step": opt.step,
        "gradient check (all_finite)":
            lambda: validate.all_finite(torch.stack([p.grad.sum()])),
        "rule alone (rules.Adam.update)":
            lambda: rules.Adam.update(p.data, p.grad, state, 1e-3, 2, **hyper),
        "lerp_ (m)": lambda: backend.lerp_(state["exp_avg"], p.grad, 0.1),
        "v *= b2; addcmul_ (v)": lambda: backend.addcmul_(state["exp_avg_sq"].mul_(0.999), p.grad,
                                                          p.grad, 0.001),
        "sqrt, /=, += (denominator)": lambda: torch.sqrt(state["exp_avg_sq"]).div_(0.5).add_(1e-8),
        "addcdiv_ (parameter)": lambda: backend.addcdiv_(p.data, state["exp_avg"], denom, -1e-3),
    }
    times = time_interleaved(parts, repeats, 2, device)
    print("\nwhere the time of one gdcore torch-path step goes (medians):")
    for name, values in times.items():
        print(f"  {name:<32} {1e3 * statistics.median(values):8.2f} ms")


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU on this machine")
    torch.manual_seed(0)
    where = (torch.cuda.get_device_name() if args.device.startswith("cuda")
             else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"torch threads {torch.get_num_threads()}")
    print(f"One Adam step on {args.size:,} float32 parameters, device {args.device} ({where}); "
          f"torch {torch.__version__}, NumPy {np.__version__}")
    print(f"{args.repeats} interleaved repetitions after {args.warmup} warm-up steps each\n")
    times = time_interleaved(make_contenders(args.size, args.device), args.repeats, args.warmup,
                             args.device)
    report(times)
    print("\ntargets: gd.torch_optim.Adam <= 1.3x, gd.Adam (NumPy) <= 2x torch.optim.Adam")
    if args.breakdown:
        breakdown(args.size, args.device, args.repeats)


if __name__ == "__main__":
    main()
