"""Data-parallel SGD with torch.distributed (gloo on 127.0.0.1): k workers with an
all-reduce equal one process with batch k*m; DDP with a DistributedSampler equals
single-process SGD on the same global batches; torchrun runs the module."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

from gdcore import distributed as gdd  # noqa: E402
from gdcore import datasets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = [2, 8, 3]


def global_steps(count=3, rows=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(rows, 2, dtype=torch.float64, generator=g),
             torch.randint(0, 3, (rows,), generator=g)) for _ in range(count)]


@pytest.mark.parametrize("k", [2, 3, 4])
def test_k_workers_with_all_reduce_equal_one_big_batch(k):
    batches = global_steps()
    reference = gdd.data_parallel_sgd(0, 1, SIZES, batches, lr=0.5)
    results = gdd.launch(gdd.data_parallel_sgd, k, SIZES, batches, 0.5)
    for params in results:
        np.testing.assert_allclose(params, reference, rtol=1e-12, atol=1e-14)
    # the parameters moved: the equality is not two untouched starts
    start = gdd.data_parallel_sgd(0, 1, SIZES, [], lr=0.5)
    assert np.abs(reference - start).max() > 1e-3


def test_unequal_shares_are_refused_before_any_step():
    with pytest.raises(ValueError, match="world_size=5"):
        gdd.data_parallel_sgd(0, 5, SIZES, global_steps(rows=24), lr=0.1)


def _fails(rank, world_size):
    if rank == 1:
        raise KeyError("boom")
    return rank


def test_a_failing_worker_is_reported_with_its_traceback():
    with pytest.raises(RuntimeError, match="worker 1 failed(.|\n)*KeyError: 'boom'"):
        gdd.launch(_fails, 2)
    with pytest.raises(ValueError, match="world_size"):
        gdd.launch(_fails, 0)


@pytest.mark.parametrize("set_epoch", [True, False])
def test_distributed_sampler_orders(set_epoch):
    epochs = gdd.global_batches(40, 2, 5, epochs=3, seed=1, set_epoch=set_epoch)
    orders = [np.concatenate(e) for e in epochs]
    for order in orders:
        assert sorted(order.tolist()) == list(range(40))  # every sample once per epoch
    same = [np.array_equal(orders[0], o) for o in orders[1:]]
    assert same == ([False, False] if set_epoch else [True, True])


@pytest.mark.parametrize("set_epoch", [True, False])
def test_ddp_equals_single_process_sgd_on_the_same_global_batches(set_epoch):
    x, y = datasets.spirals(60, seed=0)
    x, y = torch.tensor(x), torch.tensor(y)
    k, m, epochs = 2, 8, 2
    results = gdd.launch(gdd.ddp_train, k, SIZES, x, y, epochs, m, 0.3, 0, set_epoch)
    steps = [idx for epoch in gdd.global_batches(60, k, m, epochs, 0, set_epoch) for idx in epoch]
    reference = gdd.data_parallel_sgd(0, 1, SIZES, [(x[i], y[i]) for i in steps], lr=0.3)
    for r in results:
        np.testing.assert_allclose(r["params"], reference, rtol=1e-12, atol=1e-14)
    assert results[0]["loss"] == results[1]["loss"]


def test_ring_fraction_and_memory_per_worker_match_the_zero_paper():
    assert [gdd.ring_all_reduce_fraction(k) for k in (1, 2, 4)] == [0.0, 1.0, 1.5]
    # Rajbhandari et al. 2020, figure 1: 7.5B parameters, 64 workers, mixed-precision Adam
    gb = [gdd.memory_per_worker(7_500_000_000, 64, stage) / 1e9 for stage in range(4)]
    np.testing.assert_allclose(gb, [120, 31.4, 16.6, 1.9], rtol=0.02)
    assert gdd.memory_per_worker(10, 1, 0, (4, 4, 8)) == 160
    with pytest.raises(ValueError, match="stage"):
        gdd.memory_per_worker(10, 2, stage=4)


def test_all_reduce_timing_returns_one_time_per_size():
    times = gdd.launch(gdd.time_all_reduce, 2, [10, 1000], 2)
    assert len(times) == 2 and all(len(t) == 2 and min(t) > 0 for t in times)


@pytest.mark.slow
def test_launch_with_spawn_starts_fresh_interpreters():
    batches = global_steps(count=1)
    results = gdd.launch(gdd.data_parallel_sgd, 2, SIZES, batches, 0.5, start_method="spawn")
    np.testing.assert_allclose(results[1], gdd.data_parallel_sgd(0, 1, SIZES, batches, lr=0.5),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.slow
def test_torchrun_runs_the_module_with_two_processes(tmp_path):
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "gdcore.distributed", "--epochs", "2",
               "--samples", "120", "--batch-size", "16", "--out", str(out)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["world_size"] == 2 and result["backend"] == "gloo"
    assert "epoch 2: loss" in run.stdout
    # the same run in one process, on the global batches the two workers saw
    x, y = datasets.spirals(120, seed=0)
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    steps = [i for epoch in gdd.global_batches(120, 2, 16, 2, 0) for i in epoch]
    reference = gdd.data_parallel_sgd(0, 1, [2, 64, 64, 3], [(x[i].double(), y[i]) for i in steps],
                                      lr=0.1)
    np.testing.assert_allclose(result["params"], reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("k, n", [(1, 5), (2, 8), (3, 9), (4, 10), (5, 23)])
def test_ring_all_reduce_sums_and_sends_2_k_minus_1_over_k(k, n):
    values = np.random.default_rng(k).standard_normal((k, n))
    ring = gdd.ring_all_reduce(values)
    np.testing.assert_allclose(ring["result"], np.broadcast_to(values.sum(axis=0), (k, n)),
                               rtol=1e-12, atol=1e-12)
    assert ring["sent"].sum() == pytest.approx(k * gdd.ring_all_reduce_fraction(k) * n)
    assert len(ring["history"]) == 2 * (k - 1) + 1 and (ring["history"][-1] == k).all()
    with pytest.raises(ValueError, match="values"):
        gdd.ring_all_reduce(np.zeros((4, 3)))
