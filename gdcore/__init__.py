"""gdcore: the tested optimisation core of the gradient-descent course.

The NumPy optimisers, problems, schedules, batching, data sets and the training loop
are importable from the top level; the torch optimisers live in
:mod:`gdcore.torch_optim` (imported on first use, so the NumPy path works
without torch).
"""
import importlib

from . import datasets, momentum_theory, schedules
from .backend import pick_device, to_numpy
from .batching import Batches
from .finite_diff import numerical_gradient
from .optim import SGD, Adagrad, Adam, AdamW, Momentum, Nesterov, Optimizer, RMSprop
from .problems import (DoubleWell, L1Penalty, L2Penalty, LinearRegression, LogisticRegression,
                       Problem, Quadratic, Rosenbrock, Saddle, SoftmaxRegression, linear_data,
                       one_coefficient_problem, standardize)
from .train import History, RangeTest, fit, lr_range_test

_LAZY = ("torch_optim", "plots", "widgets", "checks", "race", "nn", "distributed")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'gdcore' has no attribute {name!r}")
