r"""Loss functions with analytic gradients, on NumPy arrays or torch tensors.

Data problems average per-sample losses, :math:`J(\theta) = \frac1n \sum_i \ell_i(\theta)`,
so the gradient is the mean of per-sample gradients. ``loss(theta, idx)`` and
``grad(theta, idx)`` average over the samples ``idx`` (all of them when
``idx`` is ``None``): a mini-batch gradient is the same formula on fewer rows.
Problems without data (quadratics, Rosenbrock, the double well) take no ``idx``.

Constant convention for least squares (stated once, used everywhere):
:math:`\ell_i = \tfrac12 (x_i^\top\theta - y_i)^2`, so
:math:`J(\theta) = \tfrac1{2n}\lVert X\theta - y\rVert^2` and
:math:`\nabla J(\theta) = \tfrac1n X^\top (X\theta - y)`.
"""
import numpy as np

from . import validate
from .backend import is_tensor, logsumexp_rows, namespace, to_numpy


class Problem:
    """Base class: ``loss`` and ``grad`` of :math:`J` at ``theta`` (shape ``self.shape``)."""

    n_samples = None  # number of samples, or None for a problem without data
    shape = ()

    def loss(self, theta, idx=None):
        """J(theta) on the samples ``idx`` (all when None)."""
        raise NotImplementedError

    def grad(self, theta, idx=None):
        """The analytic gradient of :meth:`loss`, shaped like ``theta``."""
        raise NotImplementedError

    def _check(self, theta, idx):
        validate.float_array("theta", theta)
        if tuple(theta.shape) != tuple(self.shape):
            raise ValueError(f"theta has shape {tuple(theta.shape)}, but this problem's "
                             f"parameters have shape {tuple(self.shape)}")
        if idx is not None and self.n_samples is None:
            raise ValueError(f"idx: {type(self).__name__} has no samples to select")


class _DataProblem(Problem):
    """Shared checks and row selection for problems built on (X, y)."""

    def __init__(self, X, y, bias):
        validate.float_array("X", X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (samples x features), got shape {tuple(X.shape)}")
        if not (isinstance(y, np.ndarray) or is_tensor(y)):
            raise TypeError(f"y must be a NumPy array or torch tensor, got {type(y).__name__}")
        if tuple(y.shape) != (X.shape[0],):
            raise ValueError(f"y has shape {tuple(y.shape)}; expected ({X.shape[0]},), "
                             "one target per row of X")
        self.bias = bool(bias)
        self.X, self.y = (_with_ones(X) if bias else X), y
        self.n_samples = X.shape[0]

    def _rows(self, idx):
        if idx is None:
            return self.X, self.y
        if len(idx) == 0:
            raise ValueError("idx is empty: a batch needs at least one sample")
        return self.X[idx], self.y[idx]


def _with_ones(X):
    """X with a column of ones appended (the intercept's feature)."""
    xp = namespace(X)
    return xp.concat([X, xp.ones_like(X[:, :1])], axis=1)


class LinearRegression(_DataProblem):
    r"""Least squares: :math:`J(\theta) = \frac{1}{2n}\lVert X\theta - y\rVert^2`,
    :math:`\nabla J = \frac1n X^\top(X\theta - y)`.

    With ``bias=True`` a column of ones is appended to ``X``, so the last
    entry of ``theta`` is the intercept.
    """

    def __init__(self, X, y, bias=True):
        super().__init__(X, y, bias)
        self.shape = (self.X.shape[1],)

    def loss(self, theta, idx=None):
        self._check(theta, idx)
        X, y = self._rows(idx)
        residual = X @ theta - y
        return (residual * residual).mean() / 2

    def grad(self, theta, idx=None):
        self._check(theta, idx)
        X, y = self._rows(idx)
        return X.T @ (X @ theta - y) / len(y)

    def solution(self):
        """The least-squares minimiser from ``np.linalg.lstsq`` (NumPy data)."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]


class Classifier(_DataProblem):
    """Base of the classifiers: their scores ``X theta`` decide a class (``decide``, set by
    :class:`LogisticRegression` and :class:`SoftmaxRegression`)."""

    def predict(self, theta, X):
        """Predicted classes for new raw features ``X`` (m, features); the bias column is
        appended here when the problem has one."""
        X = _with_ones(X) if self.bias else X
        if X.shape[1] != self.X.shape[1]:
            raise ValueError(f"X has {X.shape[1] - self.bias} features; this problem has "
                             f"{self.X.shape[1] - self.bias}")
        return self.decide(X @ theta)

    def accuracy(self, theta, idx=None):
        """The fraction of samples (``idx``, else all) whose predicted class is their label."""
        self._check(theta, idx)
        X, y = self._rows(idx)
        hits = self.decide(X @ theta) == y
        return float(hits.double().mean() if is_tensor(hits) else hits.mean())


class LogisticRegression(Classifier):
    r"""Binary cross-entropy with labels :math:`y_i \in \{0, 1\}` and
    :math:`p_i = \sigma(x_i^\top\theta)`: :math:`J = -\frac1n\sum_i [y_i\log p_i + (1-y_i)\log(1-p_i)]`,
    :math:`\nabla J = \frac1n X^\top (p - y)`. Labels may be float, integer or boolean;
    they are stored as floats.
    """

    def __init__(self, X, y, bias=True):
        super().__init__(X, y, bias)
        if not bool(((y == 0) | (y == 1)).all()):
            raise ValueError("y must hold the labels 0 and 1 "
                             "(for labels -1 and +1 pass (y + 1) / 2)")
        self.y = y * 1.0
        self.shape = (self.X.shape[1],)

    def loss(self, theta, idx=None):
        self._check(theta, idx)
        X, y = self._rows(idx)
        xp = namespace(X)
        z = X @ theta
        # log(1 + e^z) - y z, written with logaddexp so large |z| cannot overflow
        return (xp.logaddexp(xp.zeros_like(z), z) - y * z).mean()

    def grad(self, theta, idx=None):
        self._check(theta, idx)
        X, y = self._rows(idx)
        return X.T @ (self.probabilities(theta, X) - y) / len(y)

    @staticmethod
    def decide(scores):
        """Class 1 where the logit is positive (p > 1/2), else 0."""
        return (scores > 0) * 1

    @staticmethod
    def probabilities(theta, X):
        """sigma(X theta) = 1 / (1 + e^(-X theta)), computed without overflow (``X`` with its bias column)."""
        xp = namespace(X)
        z = X @ theta
        return xp.exp(-xp.logaddexp(xp.zeros_like(z), -z))


class SoftmaxRegression(Classifier):
    r"""Multi-class cross-entropy. ``theta`` has shape (features, classes),
    :math:`P = \mathrm{softmax}(X\theta)` row by row,
    :math:`J = -\frac1n\sum_i \log P_{i, y_i}`, :math:`\nabla J = \frac1n X^\top (P - Y)`
    with :math:`Y` the one-hot labels. ``y`` holds integer labels 0, ..., n_classes - 1;
    ``n_classes`` defaults to the largest label + 1.
    """

    def __init__(self, X, y, n_classes=None, bias=True):
        super().__init__(X, y, bias)
        labels = to_numpy(y)   # checked on the CPU: an out-of-range index on a GPU is fatal
        if not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
        if labels.min() < 0:
            raise ValueError(f"y has labels outside 0..n_classes-1: smallest {labels.min()}")
        n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
        self.n_classes = validate.positive_int("n_classes", n_classes)
        if labels.max() >= self.n_classes:
            raise ValueError(f"y has labels outside 0..n_classes-1 = 0..{self.n_classes - 1}: "
                             f"largest {labels.max()}")
        eye = namespace(self.X).eye(self.n_classes, dtype=self.X.dtype, device=self.X.device)
        self.Y = eye[y]
        self.shape = (self.X.shape[1], self.n_classes)

    def _rows_onehot(self, idx):
        X, _ = self._rows(idx)
        return X, (self.Y if idx is None else self.Y[idx])

    def loss(self, theta, idx=None):
        self._check(theta, idx)
        X, Y = self._rows_onehot(idx)
        Z = X @ theta
        return (logsumexp_rows(Z) - (Z * Y).sum(-1)).mean()

    def grad(self, theta, idx=None):
        self._check(theta, idx)
        X, Y = self._rows_onehot(idx)
        return X.T @ (self.probabilities(theta, X) - Y) / len(Y)

    @staticmethod
    def decide(scores):
        """The class with the largest logit, row by row."""
        return scores.argmax(-1)

    @staticmethod
    def probabilities(theta, X):
        """Row-wise softmax of X theta (``X`` with its bias column)."""
        xp = namespace(X)
        Z = X @ theta
        return xp.exp(Z - logsumexp_rows(Z)[:, None])


class Quadratic(Problem):
    r""":math:`J(\theta) = \tfrac12 \theta^\top A \theta - b^\top\theta`, :math:`\nabla J = A\theta - b`,
    minimised at :math:`A^{-1} b`; ``eigenvalues`` holds :math:`\lambda_1 \le \dots \le \lambda_d`.

    ``A`` and ``b`` (arrays or tensors; ``b = 0`` by default) are stored as NumPy
    copies; a torch ``theta`` gets them as tensors on its device, converted once
    per (device, dtype).
    """

    def __init__(self, A, b=None):
        validate.float_array("A", A)
        A = to_numpy(A)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be square, got shape {A.shape}")
        if not np.allclose(A, A.T):
            raise ValueError("A must be symmetric (A equal to A.T)")
        b = np.zeros(A.shape[0]) if b is None else to_numpy(validate.float_array("b", b))
        if b.shape != (A.shape[0],):
            raise ValueError(f"b has shape {b.shape}; expected ({A.shape[0]},)")
        self.A, self.b = A, b
        self.shape = (A.shape[0],)
        self.eigenvalues = np.linalg.eigvalsh(A)
        self._tensors = {}   # (device, dtype) -> (A, b) as tensors

    @classmethod
    def with_condition(cls, kappa, dim=2, lambda_min=1.0, rotate=True, seed=0):
        """A quadratic whose eigenvalues run from ``lambda_min`` to ``kappa * lambda_min``
        (evenly spaced), rotated by a random orthogonal matrix when ``rotate``; b = 0."""
        kappa = validate.positive("kappa", kappa)
        dim = validate.positive_int("dim", dim)
        lambda_min = validate.positive("lambda_min", lambda_min)
        if kappa < 1:
            raise ValueError(f"kappa must be >= 1, got {kappa!r}")
        if dim == 1 and kappa != 1:
            raise ValueError(f"kappa must be 1 when dim = 1 (one eigenvalue), got {kappa!r}")
        eigenvalues = np.linspace(lambda_min, kappa * lambda_min, dim)
        Q = np.eye(dim)
        if rotate:
            Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
        return cls((Q * eigenvalues) @ Q.T)

    @property
    def condition_number(self):
        """kappa = lambda_max / lambda_min."""
        return self.eigenvalues[-1] / self.eigenvalues[0]

    def solution(self):
        """The minimiser A^{-1} b."""
        return np.linalg.solve(self.A, self.b)

    def loss(self, theta, idx=None):
        self._check(theta, idx)
        A, b = self._like(theta)
        return theta @ (A @ theta) / 2 - b @ theta

    def grad(self, theta, idx=None):
        self._check(theta, idx)
        A, b = self._like(theta)
        return A @ theta - b

    def _like(self, theta):
        """(A, b) of theta's kind: the NumPy arrays, or tensors on theta's device and dtype."""
        if not is_tensor(theta):
            return self.A, self.b
        key = (theta.device, theta.dtype)
        if key not in self._tensors:
            self._tensors[key] = tuple(namespace(theta).as_tensor(m, dtype=theta.dtype,
                                                                  device=theta.device)
                                       for m in (self.A, self.b))
        return self._tensors[key]


class Rosenbrock(Problem):
    r""":math:`J(x, y) = (a - x)^2 + b\,(y - x^2)^2`, a curved valley with its minimum at :math:`(a, a^2)`."""

    def __init__(self, a=1.0, b=100.0):
        self.a, self.b = float(a), float(b)
        self.shape = (2,)

    def solution(self):
        """The minimiser (a, a^2)."""
        return np.array([self.a, self.a ** 2])

    def loss(self, theta, idx=None):
        self._check(theta, idx)
        x, y = theta[0], theta[1]
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def grad(self, theta, idx=None):
        self._check(theta, idx)
        x, y = theta[0], theta[1]
        g = namespace(theta).zeros_like(theta)
        g[0] = -2 * (self.a - x) - 4 * self.b * x * (y - x * x)
        g[1] = 2 * self.b * (y - x * x)
        return g


class DoubleWell(Problem):
    r""":math:`J(x) = (x^2 - 1)^2 + \text{tilt}\cdot x`, summed over the ``dim`` entries of ``theta``
    (shape (dim,); the default dim=1 is the one-dimensional double well).

    For a small positive tilt the well near :math:`x = -1` is deeper and the one
    near :math:`x = +1` is a shallow local minimum. With ``dim`` independent
    wells there are ``2**dim`` local minima and only one global minimum.
    """

    def __init__(self, tilt=0.25, dim=1):
        self.tilt = float(tilt)
        self.shape = (validate.positive_int("dim", dim),)

    def minima(self):
        """The local minima of one coordinate's well (where J' = 0 and J'' > 0), deepest first."""
        roots = np.roots([4.0, 0.0, -4.0, self.tilt])
        real = roots[np.abs(roots.imag) < 1e-12].real
        minima = real[12 * real ** 2 - 4 > 0]
        return minima[np.argsort((minima ** 2 - 1) ** 2 + self.tilt * minima)]

    def loss(self, theta, idx=None):
        self._check(theta, idx)
        return ((theta * theta - 1) ** 2 + self.tilt * theta).sum()

    def grad(self, theta, idx=None):
        self._check(theta, idx)
        return 4 * theta * (theta * theta - 1) + self.tilt


class Saddle(Problem):
    r""":math:`J(x, y) = x^2 - y^2 + y^4/4`: a saddle point at the origin (a minimum along
    :math:`x`, a maximum along :math:`y`) between two global minima at :math:`(0, \pm\sqrt2)`
    where :math:`J = -1`.

    The line :math:`y = 0` is the saddle's stable manifold: there
    :math:`\partial J/\partial y = -2y + y^3` vanishes, so gradient descent started
    on it stays on it and converges to the saddle.
    """

    shape = (2,)

    def minima(self):
        """The two minimisers (0, -sqrt 2) and (0, sqrt 2), one per row."""
        return np.array([[0.0, -np.sqrt(2.0)], [0.0, np.sqrt(2.0)]])

    def loss(self, theta, idx=None):
        self._check(theta, idx)
        x, y = theta[0], theta[1]
        return x * x - y * y + y ** 4 / 4

    def grad(self, theta, idx=None):
        self._check(theta, idx)
        x, y = theta[0], theta[1]
        g = namespace(theta).zeros_like(theta)
        g[0] = 2 * x
        g[1] = -2 * y + y ** 3
        return g


class _Penalty(Problem):
    """A penalty term added to ``problem``. The data ``X`` and ``y`` are shared when the
    problem has them; its minimiser and spectrum are not (they ignore the penalty):
    reach them, knowingly, through ``.problem``. ``prox(theta, lr)`` is the penalty's
    proximal step, used by ``fit(..., proximal=True)``."""

    def __init__(self, problem, strength):
        if not isinstance(problem, Problem):
            raise TypeError(f"problem must be a gdcore Problem, got {type(problem).__name__}")
        self.problem = problem
        self.strength = validate.non_negative("strength", strength)
        self.n_samples, self.shape = problem.n_samples, problem.shape
        if isinstance(problem, _DataProblem):
            self.X, self.y = problem.X, problem.y


class L2Penalty(_Penalty):
    r"""Adds :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` to the loss and :math:`\lambda\theta`
    to the gradient (every entry of theta, the bias too)."""

    def loss(self, theta, idx=None):
        return self.problem.loss(theta, idx) + self.strength / 2 * (theta * theta).sum()

    def grad(self, theta, idx=None):
        return self.problem.grad(theta, idx) + self.strength * theta

    def prox(self, theta, lr):
        """The proximal step of the L2 term: ``theta / (1 + lr * lambda)``."""
        return theta / (1 + lr * self.strength)

    def solution(self):
        r"""Ridge regression's minimiser :math:`(X^\top X + n\lambda I)^{-1} X^\top y`
        (NumPy data; ``problem`` must be a :class:`LinearRegression`)."""
        if not isinstance(self.problem, LinearRegression):
            raise TypeError(f"solution: the closed form needs a LinearRegression, got "
                            f"{type(self.problem).__name__}")
        X, y = self.X, self.y
        return np.linalg.solve(X.T @ X + len(y) * self.strength * np.eye(X.shape[1]), X.T @ y)


class L1Penalty(_Penalty):
    r"""Adds :math:`\lambda\lVert\theta\rVert_1` to the loss and the subgradient
    :math:`\lambda\,\mathrm{sign}(\theta)` to the gradient (sign(0) = 0)."""

    def loss(self, theta, idx=None):
        return self.problem.loss(theta, idx) + self.strength * namespace(theta).abs(theta).sum()

    def grad(self, theta, idx=None):
        return self.problem.grad(theta, idx) + self.strength * namespace(theta).sign(theta)

    def prox(self, theta, lr):
        """Soft thresholding, the proximal step of the L1 term: ``sign(theta) * max(|theta| - lr * lambda, 0)``."""
        xp = namespace(theta)
        return xp.sign(theta) * xp.clip(xp.abs(theta) - lr * self.strength, 0, None)


def linear_data(n=100, slope=2.0, intercept=1.0, noise=0.5, features=1, seed=0):
    """Samples of y = x . slope + intercept + noise with x uniform on [0, 2)^features.

    Returns ``(X, y)``, X of shape (n, features); noise is Gaussian with standard deviation ``noise``.
    """
    n = validate.positive_int("n", n)
    features = validate.positive_int("features", features)
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 2.0, size=(n, features))
    y = X @ np.broadcast_to(np.asarray(slope, dtype=float), (features,)) + intercept
    return X, y + noise * rng.standard_normal(n)


def one_coefficient_problem():
    """Chapter 1's model y = w x with one coefficient and loss J(w) = 2 (w + 0.2)^2.

    Six noise-free samples x = 0, 1, 1, 2, 3, 3 with y = -0.2 x give
    J = (1/12) * sum(x^2) * (w + 0.2)^2 = 2 (w + 0.2)^2: 0.5 at w = 0.3,
    0.605 at 0.35 and 0.405 at 0.25.
    """
    x = np.array([0.0, 1.0, 1.0, 2.0, 3.0, 3.0])
    return LinearRegression(x[:, None], -0.2 * x, bias=False)


def standardize(X):
    """(X - mean) / std column by column, on a NumPy array (std with ddof=0, NumPy's default);
    returns the scaled array, the means and the stds."""
    validate.numpy_float_array("X", X)
    mean, std = X.mean(axis=0), X.std(axis=0)
    if np.any(std == 0):
        raise ValueError("X has a constant column, which cannot be standardised")
    return (X - mean) / std, mean, std
