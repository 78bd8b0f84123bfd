"""gdcore.nn: the MLP builder, the training loop, gradient accumulation and the
saved-tensor measurement, each against a reference (autograd, torch.optim, arithmetic)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from gdcore import nn, torch_optim  # noqa: E402


def data(n=60, d=3, classes=4, seed=0, dtype=torch.float64, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    y = torch.randint(0, classes, (n,), generator=g)
    return x.to(device), y.to(device)


def test_mlp_is_seeded_and_leaves_the_global_rng_alone(device):
    state = torch.random.get_rng_state()
    a, b = nn.mlp([3, 5, 4], seed=1), nn.mlp([3, 5, 4], seed=1, device=device)
    assert torch.equal(torch.random.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q.cpu())
    c = nn.mlp([3, 5, 4], seed=2)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))
    assert [type(m).__name__ for m in a] == ["Linear", "ReLU", "Linear"]


@pytest.mark.parametrize("sizes, message", [([3], "at least an input and an output"),
                                            ([3, 0, 2], "sizes\\[1\\]")])
def test_mlp_rejects_bad_sizes(sizes, message):
    with pytest.raises(ValueError, match=message):
        nn.mlp(sizes)


@pytest.mark.parametrize("sizes", [[2, 3], [2, 16, 3], [5, 32, 8, 4]])
@pytest.mark.parametrize("batch", [1, 7, 64])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_saved_bytes_match_the_arithmetic(sizes, batch, dtype):
    model = nn.mlp(sizes, dtype=dtype)
    x, y = data(batch, sizes[0], sizes[-1], dtype=dtype)
    with nn.SavedTensors(exclude=model.parameters()) as saved:
        F.cross_entropy(model(x), y)
    element = torch.finfo(dtype).bits // 8
    assert saved.bytes == nn.mlp_saved_bytes(sizes, batch, element)


def test_saved_bytes_count_the_weights_when_not_excluded():
    model = nn.mlp([2, 16, 3])
    x, y = data(10, 2, 3, dtype=torch.float32)
    with nn.SavedTensors() as saved:
        F.cross_entropy(model(x), y)
    # the first layer's weight is not saved (the input needs no gradient); the others are
    weights = 4 * (16 * 3)
    assert saved.bytes == nn.mlp_saved_bytes([2, 16, 3], 10) + weights


def test_a_memory_limit_raises_out_of_memory_and_accumulation_fits_under_it():
    model = nn.mlp([2, 64, 3], dtype=torch.float64)
    x, y = data(64, 2, 3)
    limit = nn.mlp_saved_bytes([2, 64, 3], 32, 8)
    with pytest.raises(torch.OutOfMemoryError, match="simulated out of memory.*limit of"):
        with nn.SavedTensors(exclude=model.parameters(), limit=limit):
            F.cross_entropy(model(x), y)
    with nn.SavedTensors(exclude=model.parameters(), limit=limit) as saved:
        nn.accumulated_gradient(model, x, y, 2)  # each half is released after its backward
    assert saved.held == 0 and saved.bytes == nn.mlp_saved_bytes([2, 64, 3], 32, 8)
    with pytest.raises(ValueError, match="limit"):
        nn.SavedTensors(limit=0)


@pytest.mark.parametrize("micro", [1, 2, 4, 7])
def test_accumulated_gradient_equals_the_big_batch_gradient(micro, device):
    model = nn.mlp([3, 10, 4], dtype=torch.float64, device=device)
    x, y = data(60, device=device)
    whole = nn.batch_gradient(model, x, y)
    pieces = nn.accumulated_gradient(model, x, y, micro)
    assert torch.allclose(pieces, whole, rtol=1e-12, atol=1e-15)
    # and autograd's gradient is right: a central difference on one weight
    w = next(model.parameters())
    h = 1e-6
    with torch.no_grad():
        w[0, 0] += h
        up = F.cross_entropy(model(x), y)
        w[0, 0] -= 2 * h
        down = F.cross_entropy(model(x), y)
        w[0, 0] += h
    assert abs(float((up - down) / (2 * h)) - float(whole[0])) < 1e-8


def test_accumulation_rejects_more_micro_batches_than_rows():
    model = nn.mlp([3, 4])
    x, y = data(5, 3, 4, dtype=torch.float32)
    with pytest.raises(ValueError, match="micro_batches=6"):
        nn.accumulated_gradient(model, x, y, 6)


def test_train_with_gdcore_adam_equals_torch_adam(device):
    x, y = data(90, device=device)
    runs = []
    for make in (torch.optim.Adam, torch_optim.Adam):
        model = nn.mlp([3, 12, 4], dtype=torch.float64, device=device)
        log = nn.train(model, x, y, make(model.parameters(), lr=0.01), epochs=3, batch_size=16)
        runs.append((log.loss, torch.cat([p.detach().reshape(-1) for p in model.parameters()])))
    (loss_a, p_a), (loss_b, p_b) = runs
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-12)
    assert torch.allclose(p_a, p_b, rtol=1e-12, atol=1e-14)
    assert loss_a[-1] < loss_a[0]


def test_train_reports_divergence_without_stepping_on_nan():
    x, y = data(40)
    model = nn.mlp([3, 8, 4], dtype=torch.float64)
    log = nn.train(model, x, y, torch.optim.SGD(model.parameters(), lr=1e6), epochs=20,
                   batch_size=8)
    assert log.diverged and 1 <= log.diverged_at <= 20
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_step_bandwidth_counts_28_bytes_per_parameter(monkeypatch):
    # with the clock replaced by a fixed 1 ms per step, the GB/s is pure arithmetic
    monkeypatch.setattr(nn, "best_seconds", lambda fn, *a, **k: (fn(), 1e-3)[1])
    gbs = nn.adam_step_bandwidth(lambda ps: torch.optim.Adam(ps), [(100, 10), (500,)])
    assert gbs == pytest.approx(28 * 1500 / 1e-3 / 1e9)


def test_train_logs_the_full_loss_before_and_after_every_epoch():
    x, y = data(50)
    model = nn.mlp([3, 8, 4], dtype=torch.float64)
    before = float(F.cross_entropy(model(x), y).detach())
    log = nn.train(model, x, y, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
                   batch_size=16)
    assert len(log.loss) == 4 and not log.diverged
    assert log.loss[0] == pytest.approx(before, rel=1e-12)
    assert log.loss[-1] == pytest.approx(float(F.cross_entropy(model(x), y).detach()), rel=1e-12)


def test_accuracy_counts_the_rows_whose_largest_logit_is_the_label():
    x, y = data(40)
    model = nn.mlp([3, 4], dtype=torch.float64)
    expected = np.mean(model(x).detach().numpy().argmax(axis=1) == y.numpy())
    assert 0 < expected < 1
    assert nn.accuracy(model, x, y) == pytest.approx(expected, abs=1e-6)
