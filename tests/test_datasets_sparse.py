"""gdcore.datasets.sparse_features: frequencies, labels, seeding, bad input, and its use
with LogisticRegression on sample subsets."""
import numpy as np
import pytest

import gdcore as gd
from gdcore.datasets import sparse_features


def test_feature_frequencies_follow_the_requested_rates():
    X, _, rates = sparse_features(n=20_000, features=8, max_rate=0.4, min_rate=0.01, seed=1)
    np.testing.assert_allclose(rates, np.geomspace(0.4, 0.01, 8))
    observed = X.mean(axis=0)
    sd = np.sqrt(rates * (1 - rates) / X.shape[0])      # binomial standard deviation
    assert np.all(np.abs(observed - rates) < 5 * sd), (observed, rates)
    assert set(np.unique(X)) <= {0.0, 1.0}


def test_labels_are_binary_and_follow_the_logistic_model():
    _, y, _ = sparse_features(n=20_000, features=5, weight_scale=0.0, seed=2)
    assert set(np.unique(y)) == {0.0, 1.0}
    # with zero weights every label is a fair coin
    assert abs(y.mean() - 0.5) < 5 * np.sqrt(0.25 / y.size)


def test_labels_depend_on_the_active_features():
    X, y, _ = sparse_features(n=20_000, features=3, max_rate=0.5, min_rate=0.5, weight_scale=3.0,
                              seed=3)
    # the rate of positive labels differs between samples with and without feature 0
    with_f0, without = y[X[:, 0] == 1].mean(), y[X[:, 0] == 0].mean()
    assert abs(with_f0 - without) > 0.1


def test_large_weights_give_deterministic_labels_without_warnings():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # an overflow warning would fail here
        X, y, _ = sparse_features(n=2000, features=4, max_rate=0.5, min_rate=0.5,
                                  weight_scale=1e4, seed=7)
    # |x^T w| is in the thousands unless no feature is active: sigma is then 0 or 1, so
    # every sample with the same active features gets the same label
    for pattern in np.unique(X[X.any(axis=1)], axis=0):
        labels = y[(X == pattern).all(axis=1)]
        assert np.all(labels == labels[0]), pattern


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = sparse_features(seed=5), sparse_features(seed=5), sparse_features(seed=6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_logistic_regression_gradient_on_a_subset_matches_finite_differences():
    X, y, _ = sparse_features(n=200, features=12, seed=4)
    problem = gd.LogisticRegression(X, y)
    theta = np.random.default_rng(0).standard_normal(problem.shape)
    idx = np.arange(0, 200, 7)
    numerical = gd.numerical_gradient(lambda t: problem.loss(t, idx), theta).grad
    np.testing.assert_allclose(problem.grad(theta, idx), numerical, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "n must be an integer >= 1"),
    ({"features": 2.5}, "features must be an integer >= 1"),
    ({"min_rate": 0.0}, "min_rate must be a positive finite number"),
    ({"min_rate": 0.3, "max_rate": 0.2}, "min_rate <= max_rate <= 1"),
    ({"max_rate": 1.5}, "min_rate <= max_rate <= 1"),
    ({"weight_scale": -1.0}, "weight_scale must be a finite number >= 0"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sparse_features(**kwargs)
