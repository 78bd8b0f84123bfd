"""Batching laws, for NumPy index arrays and for torch index tensors on a device.

Which samples a step sees is the whole difference between BGD, SGD and
MBGD, so the laws are checked for all sizes hypothesis tries: a shuffled
epoch uses every sample exactly once, batch sizes add up, sequential batches
wrap around as (t m + k) mod n, and MBGD with m = n is BGD.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gdcore as gd


@st.composite
def sizes(draw, max_n=200):
    n = draw(st.integers(1, max_n), label="n")
    m = draw(st.integers(1, n), label="m")
    return n, m


def as_numpy(idx, device=None):
    """The indices of a batch as a NumPy array, after checking their type (and device)."""
    if device is None:
        assert isinstance(idx, np.ndarray) and np.issubdtype(idx.dtype, np.integer)
        return idx
    import torch
    assert isinstance(idx, torch.Tensor) and idx.dtype == torch.int64
    assert idx.device.type == torch.device(device).type
    return idx.cpu().numpy()


def epoch(batches, device=None):
    return [as_numpy(idx, device) for idx in batches]


# The same laws serve both paths: ``device=None`` is the NumPy path.
def check_shuffle_epoch(n, m, seed, device):
    batches = gd.Batches(n, m, order="shuffle", seed=seed, device=device)
    for _ in range(2):                                   # two different epochs
        got = epoch(batches, device)
        assert len(got) == batches.steps_per_epoch == -(-n // m)
        sizes_ = [len(b) for b in got]
        assert sum(sizes_) == n
        assert all(s == m for s in sizes_[:-1]) and 1 <= sizes_[-1] <= m
        np.testing.assert_array_equal(np.sort(np.concatenate(got)), np.arange(n))


def check_drop_last(n, m, seed, device):
    batches = gd.Batches(n, m, order="shuffle", drop_last=True, seed=seed, device=device)
    got = epoch(batches, device)
    assert len(got) == batches.steps_per_epoch == n // m
    assert [len(b) for b in got] == [m] * (n // m)
    everything = np.concatenate(got)
    assert len(everything) == m * (n // m)
    assert len(np.unique(everything)) == len(everything)      # no sample twice
    assert everything.min() >= 0 and everything.max() < n


def check_sequential(n, m, epochs, drop_last, device):
    batches = gd.Batches(n, m, order="sequential", drop_last=drop_last, device=device)
    t = 0
    for _ in range(epochs):
        got = epoch(batches, device)
        assert len(got) == batches.steps_per_epoch
        for idx in got:
            np.testing.assert_array_equal(idx, (t * m + np.arange(m)) % n)
            t += 1


def check_replacement(n, m, seed, device):
    batches = gd.Batches(n, m, order="replacement", seed=seed, device=device)
    got = epoch(batches, device)
    assert len(got) == batches.steps_per_epoch
    for idx in got:
        assert len(idx) == m and idx.min() >= 0 and idx.max() < n


def check_full_batch(n, device):
    batches = gd.Batches(n, device=device)
    got = epoch(batches, device)
    assert batches.steps_per_epoch == len(got) == 1
    np.testing.assert_array_equal(got[0], np.arange(n))


def check_seed_reproducible(n, m, seed, device):
    first = [epoch(gd.Batches(n, m, seed=seed, device=device), device) for _ in range(2)]
    for a, b in zip(*first):
        np.testing.assert_array_equal(a, b)


SEEDS = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------- NumPy path
@given(sizes(), SEEDS)
def test_shuffled_epoch_uses_every_sample_exactly_once(nm, seed):
    check_shuffle_epoch(*nm, seed, None)


@given(sizes(), SEEDS)
def test_drop_last_gives_n_div_m_full_batches(nm, seed):
    check_drop_last(*nm, seed, None)


@given(sizes(max_n=60), st.integers(1, 4), st.booleans())
def test_sequential_batches_wrap_around(nm, epochs, drop_last):
    check_sequential(*nm, epochs, drop_last, None)


@given(sizes(), SEEDS)
def test_replacement_batches_stay_in_range(nm, seed):
    check_replacement(*nm, seed, None)


@given(st.integers(1, 200))
def test_full_batch_is_every_sample_in_order(n):
    check_full_batch(n, None)


@given(sizes(), SEEDS)
def test_same_seed_same_batches(nm, seed):
    check_seed_reproducible(*nm, seed, None)


@pytest.mark.parametrize("order", ["shuffle", "sequential", "replacement"])
@pytest.mark.parametrize("n, m, drop_last, steps", [(10, 3, False, 4), (10, 3, True, 3),
                                                    (10, None, False, 1), (10, 10, True, 1)])
def test_len_is_the_number_of_steps_in_an_epoch(n, m, drop_last, steps, order):
    batches = gd.Batches(n, m, order=order, drop_last=drop_last, seed=0)
    assert len(batches) == steps == len(list(batches))


def test_sequential_drop_last_carries_the_rest_into_the_next_epoch():
    batches = gd.Batches(10, 4, order="sequential", drop_last=True)
    first, second = list(batches.epoch()), list(batches.epoch())
    np.testing.assert_array_equal(np.concatenate(first), range(8))
    np.testing.assert_array_equal(np.concatenate(second), [8, 9, 0, 1, 2, 3, 4, 5])


def test_epochs_are_reshuffled():
    batches = gd.Batches(50, 10, seed=0)
    first, second = np.concatenate(list(batches)), np.concatenate(list(batches))
    assert not np.array_equal(first, second)


# ---------------------------------------------------------------- torch path
@given(sizes(), SEEDS)
def test_device_shuffled_epoch_uses_every_sample_exactly_once(device, nm, seed):
    check_shuffle_epoch(*nm, seed, device)


@given(sizes(), SEEDS)
def test_device_drop_last_gives_n_div_m_full_batches(device, nm, seed):
    check_drop_last(*nm, seed, device)


@given(sizes(max_n=60), st.integers(1, 4), st.booleans())
def test_device_sequential_batches_wrap_around(device, nm, epochs, drop_last):
    check_sequential(*nm, epochs, drop_last, device)


@given(sizes(), SEEDS)
def test_device_replacement_batches_stay_in_range(device, nm, seed):
    check_replacement(*nm, seed, device)


@given(st.integers(1, 200))
def test_device_full_batch_is_every_sample_in_order(device, n):
    check_full_batch(n, device)


@given(sizes(), SEEDS)
def test_device_same_seed_same_batches(device, nm, seed):
    check_seed_reproducible(*nm, seed, device)


def test_device_batches_index_device_data(device):
    torch = pytest.importorskip("torch")
    x = torch.arange(100.0, device=device)[:, None] * torch.ones(3, device=device)
    seen = torch.cat([x[idx, 0] for idx in gd.Batches(100, 16, seed=0, device=device)])
    assert seen.device == x.device
    assert torch.equal(seen.sort().values, torch.arange(100.0, device=device))


def test_unseeded_device_batches_leave_torch_global_rng_alone(device):
    torch = pytest.importorskip("torch")
    torch.manual_seed(123)
    expected = torch.rand(5)
    torch.manual_seed(123)
    list(gd.Batches(20, 4, device=device))           # no seed: its own entropy
    assert torch.equal(torch.rand(5), expected)


# --------------------------------------------------------------- MBGD = BGD
@given(n=st.integers(2, 40), features=st.integers(1, 3), seed=SEEDS,
       name=st.sampled_from(["SGD", "Momentum", "Adam"]))
def test_minibatch_with_m_equal_n_is_batch_gradient_descent(n, features, seed, name):
    X, y = gd.linear_data(n=n, features=features, seed=seed % 1000)
    problem = gd.LinearRegression(X, y)
    runs = []
    for batch_size in (None, n):
        theta = np.zeros(problem.shape)
        history = gd.fit(problem, getattr(gd, name)(theta, lr=0.05), steps=30,
                         batch_size=batch_size, seed=seed, record_trajectory=True)
        runs.append((theta, history))
    (theta_bgd, bgd), (theta_mbgd, mbgd) = runs
    # a shuffled full batch only reorders the sums: equal to rounding
    np.testing.assert_allclose(theta_mbgd, theta_bgd, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mbgd.loss, bgd.loss, rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(mbgd.samples, bgd.samples)
    np.testing.assert_array_equal(mbgd.epoch, bgd.epoch)


# ------------------------------------------------- batches of data: Batches.of
@given(sizes(max_n=60), SEEDS, st.sampled_from(gd.batching.ORDERS), st.booleans())
def test_batches_of_arrays_equal_indexing_with_the_index_batches(nm, seed, order, drop_last):
    n, m = nm
    x = np.arange(2.0 * n).reshape(n, 2)
    y = np.arange(float(n))
    rows = list(gd.Batches(n, m, order, drop_last, seed).of(x, y))
    indices = list(gd.Batches(n, m, order, drop_last, seed))
    assert len(rows) == len(indices)
    for (xb, yb), idx in zip(rows, indices):
        np.testing.assert_array_equal(xb, x[idx])
        np.testing.assert_array_equal(yb, y[idx])


def test_device_batches_of_tensors_equal_indexing(device):
    import torch
    x = torch.arange(60.0, device=device).reshape(30, 2)
    rows = [xb for (xb,) in gd.Batches(30, 7, seed=1, device=device).of(x)]
    indices = list(gd.Batches(30, 7, seed=1, device=device))
    assert all(torch.equal(xb, x[idx]) for xb, idx in zip(rows, indices))
    assert all(xb.device == x.device for xb in rows)


def test_batches_of_rejects_arrays_of_another_length():
    with pytest.raises(ValueError, match=r"^arrays\[1\] has 9 rows"):
        next(gd.Batches(10, 2).of(np.zeros(10), np.zeros(9)))
