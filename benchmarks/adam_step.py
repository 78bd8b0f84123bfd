"""One Adam step: gdcore's torch modes against torch.optim.Adam and a copy-bandwidth limit.

Supports two claims: that gdcore's one-formula design costs little next to
``torch.optim.Adam`` (chapters on Adam and on training with torch), and why
fused optimisers exist (chapter 10): an Adam step reads the parameter, its
gradient and two moments and writes back three of them, about 28 bytes per
float32 parameter, so its speed is bounded by memory bandwidth.

Two workloads, each a list of float32 tensors with gradients:

* ``big``: one tensor of ``--size`` parameters (default 10 million);
* ``mlp``: the weights and biases of an MLP with ``--layers`` linear layers of
  width ``--width`` (defaults 64 and 128: 128 tensors, 1.06M parameters),
  where the cost per tensor (Python, kernel launches) matters.

Contenders: ``torch.optim.Adam`` at its default, with ``foreach=True`` and with
``fused=True``; ``gd.torch_optim.Adam`` with ``foreach=False`` (the rule once
per tensor), ``foreach=True`` (once per group, on TensorLists) and
``fused=True`` (the rule compiled by ``torch.compile`` for the whole group at
once; its first warm-up step compiles); and, on the CPU and the big tensor, ``gd.Adam``
(NumPy). Next to them, ``copy limit`` is the time of 28 bytes per parameter
at the copy bandwidth measured in the same run (``dst.copy_(src)``, which
moves 8 bytes per float32 entry).

The machine may be noisy and shared, so the contenders are interleaved (each
repetition times one step of each, in a rotating order), every one is warmed
up first, and the script reports medians, ratios of medians against the
baseline of the workload's target (``fused`` for ``big``, ``foreach`` for
``mlp``) with the interquartile range of the per-repetition ratios as a noise
gauge, and each one's effective bandwidth (28 bytes per parameter / time).

    .venv/bin/python benchmarks/adam_step.py                 # CPU, both workloads
    .venv/bin/python benchmarks/adam_step.py --device cuda   # a GPU (torch contenders)
    .venv/bin/python benchmarks/adam_step.py --workload big --breakdown
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

#: Bytes an Adam step moves per float32 parameter: reads p, g, m, v; writes p, m, v.
BYTES_PER_PARAMETER = 7 * 4
#: The baseline of each workload's target, and the target ratio for gdcore's fastest mode.
BASELINES = {"big": "torch fused=True", "mlp": "torch foreach=True"}
TARGET = 1.3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--workload", choices=["big", "mlp", "both"], default="both")
    parser.add_argument("--size", type=int, default=10_000_000,
                        help="parameters of the big tensor")
    parser.add_argument("--layers", type=int, default=64, help="linear layers of the MLP")
    parser.add_argument("--width", type=int, default=128, help="width of the MLP's layers")
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per contender first")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the parts of a gdcore torch-path step (big tensor)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    return parser.parse_args()


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def workload_shapes(args, name):
    if name == "big":
        return [(args.size,)]
    shapes = []
    for _ in range(args.layers):
        shapes += [(args.width, args.width), (args.width,)]
    return shapes


def make_contenders(shapes, device, with_numpy):
    """name -> a function making one Adam step; all start from the same numbers."""
    gen = torch.Generator().manual_seed(0)
    starts = [torch.randn(shape, generator=gen) for shape in shapes]
    grads = [torch.randn(shape, generator=gen) for shape in shapes]

    def params():
        ps = [s.clone().to(device).requires_grad_() for s in starts]
        for p, g in zip(ps, grads):
            p.grad = g.clone().to(device)
        return ps

    contenders = {
        "torch default": torch.optim.Adam(params()).step,
        "torch foreach=True": torch.optim.Adam(params(), foreach=True).step,
        "torch fused=True": torch.optim.Adam(params(), fused=True).step,
        "gdcore foreach=False": torch_optim.Adam(params(), foreach=False).step,
        "gdcore foreach=True": torch_optim.Adam(params(), foreach=True).step,
        "gdcore fused=True": torch_optim.Adam(params(), fused=True).step,
    }
    if with_numpy and device == "cpu":
        thetas = [s.numpy().copy() for s in starts]
        numpy_grads = [g.numpy().copy() for g in grads]
        numpy_opt = gd.Adam(thetas)
        contenders["gdcore NumPy"] = lambda: numpy_opt.step(numpy_grads)
    return contenders


def copy_contender(n, device):
    """A copy of n float32 entries (8 bytes moved per entry), to measure bandwidth."""
    src = torch.randn(n, device=device)
    dst = torch.empty_like(src)
    return lambda: dst.copy_(src)


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


def report(times, n, baseline):
    """Medians, ratios against ``baseline``, effective GB/s; the copy row becomes the limit."""
    copy = statistics.median(times.pop("copy"))
    bandwidth = 8 * n / copy                                    # bytes per second
    limit = BYTES_PER_PARAMETER * n / bandwidth
    base = times[baseline]
    print(f"copy bandwidth {bandwidth / 1e9:.1f} GB/s -> copy limit of an Adam step "
          f"{1e3 * limit:.2f} ms ({BYTES_PER_PARAMETER} bytes per parameter)")
    print(f"{'contender':<22} {'median ms':>10} {'/ ' + baseline:>22} {'per-rep IQR':>14} "
          f"{'GB/s':>7} {'/ copy limit':>13}")
    for name, values in times.items():
        median = statistics.median(values)
        low, high = quartiles([a / b for a, b in zip(values, base)])
        print(f"{name:<22} {1e3 * median:>10.2f} {median / statistics.median(base):>21.2f}x "
              f"{low:>8.2f}-{high:.2f}x {BYTES_PER_PARAMETER * n / median / 1e9:>7.1f} "
              f"{median / limit:>12.2f}x")
    fastest = min((name for name in times if name.startswith("gdcore") and "NumPy" not in name),
                  key=lambda name: statistics.median(times[name]))
    ratio = statistics.median(times[fastest]) / statistics.median(base)
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"target: fastest gdcore torch mode ({fastest}) <= {TARGET}x {baseline}: "
          f"{ratio:.2f}x, {verdict}")


def breakdown(size, device, repeats):
    """Median time of each part of a gdcore torch-path Adam step, next to the whole step."""
    gen = torch.Generator().manual_seed(1)
    p, q, r = (torch.randn(size, generator=gen).to(device).requires_grad_() for _ in range(3))
    p.grad, q.grad, r.grad = (torch.randn(size, generator=gen).to(device) for _ in range(3))
    opt, fused = torch_optim.Adam([p], foreach=False), torch_optim.Adam([q], fused=True)
    opt.step()
    fused.step()
    state = opt.state[p]
    hyper = {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False}
    denom = torch.sqrt(state["exp_avg_sq"]).add_(1e-8)
    at_step = {k: torch.tensor(v, dtype=torch.float64, device=device)
               for k, v in rules.Adam.per_step(1e-3, 2, **hyper).items()}
    lr = torch.tensor(1e-3, dtype=torch.float64, device=device)
    compiled_update = torch.no_grad()(torch_optim._compiled_group_update())   # as in step()
    parts = {
        "torch.optim.Adam(fused=True)": torch.optim.Adam([r], fused=True).step,
        "fused=True: whole step": fused.step,
        "fused=True: compiled update alone": lambda: compiled_update(
            torch_optim.Adam, [q], [q.grad], [fused.state[q]], lr, 0.0, at_step, hyper),
        "fused=True: gradient check": lambda: validate.all_finite_tensors([q.grad]),
        "foreach=False: whole step": opt.step,
        "gradient check": lambda: validate.all_finite_tensors([p.grad]),
        "rule alone (rules.apply_update)":
            lambda: rules.apply_update(rules.Adam, p.data, p.grad, state, 1e-3, 2, 0.0, hyper),
        "lerp_ (m)": lambda: backend.lerp_(state["exp_avg"], p.grad, 0.1),
        "v *= b2; addcmul_ (v)": lambda: backend.addcmul_(state["exp_avg_sq"].mul_(0.999),
                                                          p.grad, p.grad, 0.001),
        "sqrt, /=, += (denominator)":
            lambda: torch.sqrt(state["exp_avg_sq"]).div_(0.5).add_(1e-8),
        "addcdiv_ (parameter)":
            lambda: backend.addcdiv_(p.data, state["exp_avg"], denom, -1e-3),
    }
    times = time_interleaved(parts, repeats, 2, device)
    print("\nwhere the time of one gdcore torch-path step goes (medians; the rows after the "
          "whole foreach=False step are its parts):")
    for name, values in times.items():
        print(f"  {name:<36} {1e3 * statistics.median(values):8.2f} ms")


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no GPU on this machine; nothing measured")
    torch.manual_seed(0)
    where = (torch.cuda.get_device_name() if args.device.startswith("cuda")
             else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"torch threads {torch.get_num_threads()}")
    print(f"One Adam step on float32 parameters, device {args.device} ({where}); "
          f"torch {torch.__version__}, NumPy {np.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{args.repeats} interleaved repetitions after {args.warmup} warm-up steps each")
    for name in (["big", "mlp"] if args.workload == "both" else [args.workload]):
        shapes = workload_shapes(args, name)
        n = sum(int(np.prod(shape)) for shape in shapes)
        print(f"\n== {name}: {len(shapes)} tensor(s), {n:,} parameters")
        contenders = make_contenders(shapes, args.device, with_numpy=name == "big")
        contenders["copy"] = copy_contender(n, args.device)
        report(time_interleaved(contenders, args.repeats, args.warmup, args.device), n,
               BASELINES[name])
    if args.breakdown:
        breakdown(args.size, args.device, args.repeats)


if __name__ == "__main__":
    main()
