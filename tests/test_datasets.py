"""Data generators and splits: shapes, balance, geometry, seeding, bad input."""
import numpy as np
import pytest

import gdcore as gd
from gdcore import datasets

GENERATORS = {"blobs": lambda **kw: datasets.blobs(**kw),
              "moons": lambda **kw: datasets.moons(**kw),
              "spirals": lambda **kw: datasets.spirals(**kw)}


@pytest.mark.parametrize("name", GENERATORS)
def test_shapes_labels_and_seeding(name):
    X, y = GENERATORS[name](n=301, seed=4)
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert np.issubdtype(y.dtype, np.integer)
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1            # balanced classes
    X2, y2 = GENERATORS[name](n=301, seed=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = GENERATORS[name](n=301, seed=5)
    assert not np.array_equal(X, X3)


def test_spirals_geometry():
    X, y = datasets.spirals(n=400, classes=4, noise=0.0, seed=1)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert set(np.unique(y)) == {0, 1, 2, 3}
    assert radius.max() <= 1.0
    # without noise, angle - 4 r is the arm's starting angle 2 pi k / classes
    start = np.angle(np.exp(1j * (np.arctan2(X[:, 1], X[:, 0]) - 4 * radius)))
    expected = np.angle(np.exp(1j * 2 * np.pi * y / 4))
    np.testing.assert_allclose(np.exp(1j * start), np.exp(1j * expected), atol=1e-12)
    # noise on the angle keeps the radius
    Xn, _ = datasets.spirals(n=400, classes=4, noise=0.5, seed=1)
    np.testing.assert_allclose(np.hypot(Xn[:, 0], Xn[:, 1]), radius, atol=1e-12)


def test_moons_geometry_without_noise():
    X, y = datasets.moons(n=200, noise=0.0, seed=2)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert (upper[:, 1] >= 0).all() and (lower[:, 1] <= 0.5).all()


def test_blobs_centres():
    X, y = datasets.blobs(n=3000, classes=3, spread=0.5, seed=3)
    for k in range(3):
        centre = 2 * np.array([np.cos(2 * np.pi * k / 3), np.sin(2 * np.pi * k / 3)])
        # the mean of 1000 points with std 0.5 lies within 5 standard errors
        assert np.abs(X[y == k].mean(axis=0) - centre).max() < 5 * 0.5 / np.sqrt(1000)
        assert np.abs(X[y == k].std(axis=0) - 0.5).max() < 0.05


def test_polynomial_features_match_vander():
    x = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(datasets.polynomial_features(x, 4),
                                  np.vander(x, 5, increasing=True)[:, 1:], rtol=1e-14)


def test_train_val_split_partitions_rows():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_tr, X_val, y_tr, y_val = datasets.train_val_split(X, y, val_fraction=0.3, seed=9)
    assert len(y_val) == 6 and len(y_tr) == 14
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_val])), y)
    np.testing.assert_array_equal(X_tr[:, 0], 2 * y_tr)       # rows stay paired
    np.testing.assert_array_equal(X_val[:, 0], 2 * y_val)
    again = datasets.train_val_split(X, y, val_fraction=0.3, seed=9)
    np.testing.assert_array_equal(again[3], y_val)
    assert not np.array_equal(datasets.train_val_split(X, y, 0.3, seed=10)[3], y_val)


def test_train_val_split_on_tensors():
    torch = pytest.importorskip("torch")
    X, y = torch.arange(20.0).reshape(10, 2), torch.arange(10)
    X_tr, X_val, y_tr, y_val = datasets.train_val_split(X, y, val_fraction=0.2, seed=0)
    assert X_val.shape == (2, 2) and torch.equal(X_tr[:, 0], 2.0 * y_tr)


@pytest.mark.parametrize("call, message", [
    (lambda: datasets.spirals(n=0), "n must be an integer >= 1"),
    (lambda: datasets.spirals(classes=1), "classes must be at least 2"),
    (lambda: datasets.moons(noise=-1.0), "noise must be a finite number >= 0"),
    (lambda: datasets.blobs(spread=float("nan")), "spread must be a finite number >= 0"),
    (lambda: datasets.polynomial_features(np.ones((3, 2)), 2), "x must be 1-D"),
    (lambda: datasets.polynomial_features(np.ones(3), 0), "degree must be an integer >= 1"),
    (lambda: datasets.polynomial_features(np.arange(3), 2), "x has dtype int"),
    (lambda: datasets.train_val_split(np.ones((4, 2)), np.ones(5)), "y has 5 rows but X has 4"),
    (lambda: datasets.train_val_split(np.ones((4, 2)), np.ones(4), 1.0), "val_fraction must"),
    (lambda: datasets.train_val_split(np.ones((2, 2)), np.ones(2), 0.1), "leaves an empty part"),
    (lambda: datasets.train_val_split([1, 2], np.ones(2)), "X must be a NumPy array"),
])
def test_bad_input(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_exported_from_the_package():
    assert gd.datasets.spirals is datasets.spirals
