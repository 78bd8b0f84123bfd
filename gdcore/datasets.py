"""Data generators for the chapters' problems; each returns NumPy arrays ``(X, y)``.

Every generator is seeded (``np.random.default_rng(seed)``), so the same
arguments give the same data on every machine.
"""
import numpy as np

from . import validate


def sparse_features(n=1000, features=100, max_rate=0.1, min_rate=0.002, weight_scale=3.0, seed=0):
    r"""Binary classification data with sparse binary features, for :class:`gdcore.LogisticRegression`.

    Feature ``j`` is 1 in a fraction ``rates[j]`` of the samples and 0 elsewhere,
    the rates falling geometrically from ``max_rate`` (feature 0, common) to
    ``min_rate`` (the last feature, rare). Labels are drawn as
    :math:`y_i \sim \text{Bernoulli}(\sigma(x_i^\top w))` with true weights
    :math:`w_j \sim \mathcal N(0, \text{weight\_scale}^2)` and no intercept, so rare
    features carry as much signal per occurrence as common ones.

    Returns ``(X, y, rates)``: ``X`` of shape (n, features) holding 0.0 and 1.0,
    ``y`` of shape (n,) holding the labels 0.0 and 1.0, and ``rates`` the
    intended frequency of each feature (the observed ones vary around them).
    """
    n = validate.positive_int("n", n)
    features = validate.positive_int("features", features)
    max_rate = validate.positive("max_rate", max_rate)
    min_rate = validate.positive("min_rate", min_rate)
    if not min_rate <= max_rate <= 1:
        raise ValueError(f"max_rate and min_rate must satisfy 0 < min_rate <= max_rate <= 1, "
                         f"got min_rate={min_rate!r}, max_rate={max_rate!r}")
    weight_scale = validate.non_negative("weight_scale", weight_scale)
    rng = np.random.default_rng(seed)
    rates = np.geomspace(max_rate, min_rate, features)
    X = (rng.random((n, features)) < rates).astype(float)
    weights = weight_scale * rng.standard_normal(features)
    with np.errstate(over="ignore"):   # exp overflows to inf for a large margin: p is then 0
        probabilities = 1 / (1 + np.exp(-(X @ weights)))
    y = (rng.random(n) < probabilities).astype(float)
    return X, y, rates
