"""Small data sets made in code (no downloads), seeded for reproducible chapters.

The classification sets return ``(X, y)``: ``X`` float64 of shape (n, 2) and
``y`` integer labels 0, ..., classes - 1 (int64), the classes as equal in size
as ``n`` allows and the rows in random order. The same ``seed`` gives the same
data on every machine (NumPy's ``default_rng``).
"""
import numpy as np

from . import validate
from .backend import is_tensor


def _labels(n, classes, rng):
    """Balanced labels (class k gets n // classes or one more rows), shuffled."""
    return rng.permutation(np.arange(n) % classes)


def blobs(n=300, classes=3, spread=0.6, seed=0):
    """Gaussian clouds of standard deviation ``spread`` around ``classes`` centres
    evenly spaced on the circle of radius 2."""
    n = validate.positive_int("n", n)
    classes = _classes(classes)
    spread = validate.non_negative("spread", spread)
    rng = np.random.default_rng(seed)
    y = _labels(n, classes, rng)
    angle = 2 * np.pi * y / classes
    centres = 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + spread * rng.standard_normal((n, 2)), y


def moons(n=300, noise=0.15, seed=0):
    """Two interleaved half circles of radius 1 (class 0 on top, class 1 below,
    shifted right by 1 and down by 0.5), plus Gaussian noise of standard deviation ``noise``."""
    n = validate.positive_int("n", n)
    noise = validate.non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    y = _labels(n, 2, rng)
    angle = np.pi * rng.uniform(size=n)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    X = np.where(y[:, None] == 0, upper, lower)
    return X + noise * rng.standard_normal((n, 2)), y


def spirals(n=300, classes=3, noise=0.2, seed=0):
    """``classes`` interleaved spiral arms from the origin out to radius 1.

    A point at fraction ``t`` (uniform on [0, 1]) along arm ``k`` sits at radius
    ``t`` and angle ``2 pi k / classes + 4 t`` radians, plus Gaussian noise of
    standard deviation ``noise`` on the angle. No straight line separates two arms.
    """
    n = validate.positive_int("n", n)
    classes = _classes(classes)
    noise = validate.non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    y = _labels(n, classes, rng)
    t = rng.uniform(size=n)
    angle = 2 * np.pi * y / classes + 4 * t + noise * rng.standard_normal(n)
    return t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), y


def polynomial_features(x, degree):
    """Columns x, x^2, ..., x^degree of a 1-D array ``x`` (shape (n, degree)).

    No column of ones: :class:`gdcore.LinearRegression` adds the intercept itself.
    """
    validate.numpy_float_array("x", x)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D (one value per sample), got shape {x.shape}")
    degree = validate.positive_int("degree", degree)
    return x[:, None] ** np.arange(1, degree + 1)


def train_val_split(X, y, val_fraction=0.25, seed=0):
    """A seeded random split into training and validation rows.

    Returns ``X_train, X_val, y_train, y_val`` (the order of scikit-learn's
    ``train_test_split``); ``round(val_fraction * n)`` rows go to validation and
    both parts keep at least one row. Works on NumPy arrays and torch tensors.
    """
    for name, a in (("X", X), ("y", y)):
        if not (isinstance(a, np.ndarray) or is_tensor(a)):
            raise TypeError(f"{name} must be a NumPy array or torch tensor, got {type(a).__name__}")
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} rows but X has {n}: one target per row of X")
    if not (isinstance(val_fraction, float) and 0 < val_fraction < 1):
        raise ValueError(f"val_fraction must be a float in (0, 1), got {val_fraction!r}")
    n_val = round(val_fraction * n)
    if not 1 <= n_val <= n - 1:
        raise ValueError(f"val_fraction={val_fraction!r} of {n} rows leaves an empty part; "
                         "use more rows or another fraction")
    order = np.random.default_rng(seed).permutation(n)
    train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
    return X[train], X[val], y[train], y[val]


def _classes(classes):
    classes = validate.positive_int("classes", classes)
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes!r}")
    return classes
