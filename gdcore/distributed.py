"""Data-parallel SGD with ``torch.distributed``: k processes, one averaged gradient.

:func:`launch` starts ``k`` fresh Python processes on this machine, joins them
in a gloo process group on 127.0.0.1 (a free port) and returns what each
worker function returned; it works from a notebook because the workers are
module-level functions here. The same training code also runs under torchrun::

    torchrun --standalone --nproc_per_node=2 -m gdcore.distributed --epochs 5

(gloo on CPUs; NCCL and one GPU per process when CUDA is present).

Conventions: the loss is the mean cross-entropy over a batch; each of the
``k`` workers holds an equal share of every global batch, so the average of
their gradients is the gradient of the whole batch.
"""
import argparse
import json
import os
import socket
import sys
import time
import traceback

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from . import validate
from .nn import batch_gradient, full_loss, mlp


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (the rendezvous port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(worker, rank, world_size, port, args, results):
    torch.set_num_threads(1)  # k processes share the machine's cores
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)
    try:
        results.put((rank, None, worker(rank, world_size, *args)))
    except Exception:  # report it to the parent, which raises it
        results.put((rank, traceback.format_exc(), None))
    finally:
        dist.destroy_process_group()


def launch(worker, world_size, *args, timeout=120, start_method=None):
    """Run ``worker(rank, world_size, *args)`` in ``world_size`` new processes that
    form a gloo process group on 127.0.0.1; return the results as a list by rank.

    ``worker`` must be importable by name (a module-level function) and should
    return NumPy arrays or plain Python values. An exception in any worker is
    raised here as ``RuntimeError`` with the worker's traceback.

    ``start_method``: by default ``"fork"`` where the system has it and CUDA is not
    initialised in this process (a copy of this process starts at once), else
    ``"spawn"`` (a fresh interpreter that imports torch again: seconds per worker).
    """
    world_size = validate.positive_int("world_size", world_size)
    if start_method is None:
        forkable = "fork" in mp.get_all_start_methods() and not torch.cuda.is_initialized()
        start_method = "fork" if forkable else "spawn"
    ctx = mp.get_context(validate.choice("start_method", start_method,
                                         mp.get_all_start_methods()))
    results = ctx.SimpleQueue()
    port = free_port()
    procs = [ctx.Process(target=_entry, args=(worker, rank, world_size, port, args, results))
             for rank in range(world_size)]
    for p in procs:
        p.start()
    collected, errors = {}, []
    try:
        for _ in range(world_size):
            rank, error, value = _get(results, procs, timeout)
            collected[rank] = value
            if error:
                errors.append(f"worker {rank} failed:\n{error}")
                break
    finally:
        for p in procs:
            p.join(timeout=1 if errors else timeout)
            if p.is_alive():
                p.terminate()
                p.join()
    if errors:
        raise RuntimeError("\n".join(errors))
    return [collected[r] for r in range(world_size)]


def _get(results, procs, timeout):
    """The next result, or an error once a worker died silently or ``timeout`` s passed."""
    deadline = time.monotonic() + timeout
    while results.empty():
        dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(f"workers stopped without a result (exit codes "
                               f"{[p.exitcode for p in procs]}; timeout {timeout} s)")
        time.sleep(0.01)
    return results.get()


def average_gradients(model):
    """Replace every ``.grad`` by its mean over all workers: one all-reduce (sum)
    over one flat buffer, then a division by the number of workers."""
    grads = [p.grad for p in model.parameters()]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= dist.get_world_size()
    for g, part in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(part.view_as(g))


def data_parallel_sgd(rank, world_size, sizes, batches, lr, seed=0):
    """Plain SGD on an :func:`gdcore.nn.mlp` in float64, data parallel over ``world_size``
    workers: each takes its equal share of every global batch ``(x, y)`` in ``batches``,
    computes its gradient, all-reduces the average and steps. Returns the final
    parameters as one NumPy vector.

    Called directly with ``world_size=1`` (no process group) it is ordinary
    mini-batch SGD on the whole batches: the reference the workers must match.
    """
    model = mlp(sizes, seed=seed, dtype=torch.float64)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for step, (x, y) in enumerate(batches):
        if len(x) % world_size:
            raise ValueError(f"batches[{step}] has {len(x)} rows, not a multiple of "
                             f"world_size={world_size}: the shares would differ in size")
        share = slice(rank * len(x) // world_size, (rank + 1) * len(x) // world_size)
        batch_gradient(model, x[share], y[share])
        if world_size > 1:
            average_gradients(model)
        optimizer.step()
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()


def time_all_reduce(rank, world_size, numels, repeats=5, calls=10):
    """Seconds per all-reduce (sum) of a float32 tensor of each size in ``numels``:
    the best of ``repeats`` rounds, each ``calls`` back-to-back all-reduces after a
    barrier, divided by ``calls`` (the way :func:`gdcore.nn.best_seconds` times
    compute: the round least disturbed by other work). Returns the list."""
    times = []
    for numel in numels:
        buffer = torch.ones(numel)
        dist.all_reduce(buffer)  # the first call sets up buffers: not counted
        rounds = []
        for _ in range(validate.positive_int("repeats", repeats)):
            dist.barrier()
            start = time.perf_counter()
            for _ in range(calls):
                dist.all_reduce(buffer)
            rounds.append((time.perf_counter() - start) / calls)
        times.append(min(rounds))
    return times


def ring_all_reduce_fraction(world_size):
    """The share of the message each worker sends (and receives) in a ring
    all-reduce: 2(k - 1)/k for k workers (reduce-scatter, then all-gather)."""
    k = validate.positive_int("world_size", world_size)
    return 2 * (k - 1) / k


def ring_all_reduce(values):
    """Simulate a ring all-reduce (sum) among ``k = len(values)`` workers, in NumPy.

    Each worker's vector ``values[i]`` is cut into ``k`` chunks. In the
    reduce-scatter phase (k - 1 steps) worker ``i`` sends one chunk to worker
    ``i + 1``, which adds it to its own copy; afterwards each worker holds one
    chunk summed over all workers. In the all-gather phase (k - 1 more steps)
    the summed chunks travel round the ring once more, replacing stale copies.
    Returns ``{"result": (k, n) array, every row the sum, "sent": elements each
    worker sent, "history": one (k, k) array per step counting the workers whose
    values each copy of each chunk contains}``.
    """
    values = np.array(values, dtype=float)
    k = len(values) if values.ndim == 2 else 0
    if k < 1 or values.shape[1] < k:
        raise ValueError(f"values must be a (k, n) array with n >= k, got shape {values.shape}")
    chunks = [np.array_split(row, k) for row in values]
    counts = np.ones((k, k), dtype=int)
    history, sent = [counts.copy()], np.zeros(k, dtype=int)
    for phase in ("reduce-scatter", "all-gather"):
        for step in range(k - 1):
            shift = step if phase == "reduce-scatter" else step - 1
            outgoing = [(i, (i - shift) % k) for i in range(k)]  # (sender, chunk)
            payload = [(chunks[i][c].copy(), counts[i, c]) for i, c in outgoing]
            for (i, c), (chunk, count) in zip(outgoing, payload):
                j = (i + 1) % k
                if phase == "reduce-scatter":
                    chunks[j][c] = chunks[j][c] + chunk
                    counts[j, c] += count
                else:
                    chunks[j][c] = chunk
                    counts[j, c] = count
                sent[i] += chunk.size
            history.append(counts.copy())
    return {"result": np.stack([np.concatenate(c) for c in chunks]), "sent": sent,
            "history": history}


def global_batches(n, world_size, batch_size, epochs, seed=0, set_epoch=True):
    """The global batches a :class:`~torch.utils.data.DistributedSampler` run sees.

    Returns a list with one list per epoch of index arrays: at each step, the
    indices of all workers' local batches of ``batch_size`` (rank 0's first).
    Without ``set_epoch`` every epoch repeats the first epoch's order.
    """
    from torch.utils.data import DistributedSampler
    samplers = [DistributedSampler(range(n), num_replicas=world_size, rank=r, shuffle=True,
                                   seed=seed) for r in range(world_size)]
    epochs_out = []
    for epoch in range(validate.positive_int("epochs", epochs)):
        local = []
        for s in samplers:
            if set_epoch:
                s.set_epoch(epoch)
            order = np.fromiter(iter(s), dtype=np.int64)
            local.append([order[i:i + batch_size] for i in range(0, len(order), batch_size)])
        epochs_out.append([np.concatenate(step) for step in zip(*local)])
    return epochs_out


def ddp_train(rank, world_size, sizes, x, y, epochs, batch_size, lr, seed=0, set_epoch=True,
              device="cpu"):
    """Train an :func:`gdcore.nn.mlp` with DistributedDataParallel and a DistributedSampler.

    Needs a process group (from :func:`launch` or torchrun). ``batch_size`` is per
    worker; every worker draws its share of each epoch from the sampler, which
    reshuffles per epoch only when ``set_epoch`` is true. Returns the final
    parameters (NumPy) and the full-data loss after each epoch.
    """
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
    model = mlp(sizes, seed=seed, dtype=x.dtype, device=device)
    ddp = DistributedDataParallel(model, device_ids=[device] if device != "cpu" else None)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=lr)
    data = TensorDataset(x, y)
    sampler = DistributedSampler(data, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=seed)
    loader = DataLoader(data, batch_size=batch_size, sampler=sampler)
    losses = []
    for epoch in range(epochs):
        if set_epoch:
            sampler.set_epoch(epoch)  # forget it and every epoch repeats one order
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            F.cross_entropy(ddp(xb), yb).backward()  # DDP all-reduces the gradients here
            optimizer.step()
        losses.append(full_loss(model, x.to(device), y.to(device)))
    params = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).cpu().numpy()
    return {"params": params, "loss": losses}


def memory_per_worker(params, workers, stage=0, bytes_per_param=(2, 2, 12)):
    """Bytes of model state per worker: weights, gradients and optimiser state.

    ``bytes_per_param`` = (weights, gradients, optimiser state): (4, 4, 8) for
    Adam in float32; (2, 2, 12) for mixed-precision Adam (16-bit weights and
    gradients; a float32 master copy, m and v). ZeRO ``stage`` 1 partitions the
    optimiser state over the ``workers``, stage 2 the gradients too, stage 3
    (like FSDP) the weights as well; stage 0 is plain data parallelism, where
    every worker holds everything.
    """
    params = validate.positive_int("params", params)
    workers = validate.positive_int("workers", workers)
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"stage must be 0, 1, 2 or 3, got {stage!r}")
    weights, grads, state = bytes_per_param
    parts = [(weights, stage >= 3), (grads, stage >= 2), (state, stage >= 1)]
    return sum(b * params / (workers if split else 1) for b, split in parts)


def main(argv=None):
    """Entry point for ``torchrun ... -m gdcore.distributed``: DDP on spirals.

    torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; the process group uses NCCL
    with one GPU per process when CUDA is present, else gloo. Rank 0 prints the
    loss per epoch and, with ``--out``, writes the result as JSON.
    """
    from .datasets import spirals
    parser = argparse.ArgumentParser(prog="python -m gdcore.distributed", description=main.__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32, help="per worker")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-set-epoch", action="store_true")
    parser.add_argument("--out", help="write rank 0's result to this JSON file")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = f"cuda:{local_rank}" if cuda else "cpu"
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    x, y = spirals(args.samples, seed=args.seed)
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    result = ddp_train(rank, world, [2, 64, 64, 3], x, y, args.epochs, args.batch_size, args.lr,
                       args.seed, not args.no_set_epoch, device)
    if rank == 0:
        for epoch, loss in enumerate(result["loss"], 1):
            print(f"epoch {epoch}: loss {loss:.4f}")
        if args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump({"world_size": world, "backend": dist.get_backend(),
                           "loss": result["loss"], "params": result["params"].tolist()}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
