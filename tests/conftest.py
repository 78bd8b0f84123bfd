"""Shared test settings: the torch devices to test on and a deterministic hypothesis profile.

Every torch test takes the ``device`` fixture and so runs once per entry of
:data:`DEVICES`: always on the CPU, and on CUDA when torch sees a GPU. On a
machine without one the CUDA cases are reported as skipped, not failed.

Hypothesis runs a fixed, derandomised set of examples (the ``gdcore``
profile) so that the suite is fast and a failure reproduces on the next run;
``HYPOTHESIS_PROFILE=thorough pytest tests/`` tries many more inputs.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

try:
    import torch
except ImportError:  # the NumPy tests still run; the torch ones are skipped
    torch = None

settings.register_profile("gdcore", max_examples=25, derandomize=True, deadline=None,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gdcore"))

_NO_TORCH = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
_NO_CUDA = pytest.mark.skipif(torch is None or not torch.cuda.is_available(),
                              reason="no CUDA GPU available")

#: The devices every torch test runs on (CUDA ones skipped without a GPU).
DEVICES = [pytest.param("cpu", marks=_NO_TORCH, id="cpu"),
           pytest.param("cuda", marks=_NO_CUDA, id="cuda")]


@pytest.fixture(params=DEVICES, scope="session")
def device(request):
    """A torch device name: "cpu", then "cuda" when a GPU is present."""
    return request.param


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: opens the built book in headless Chromium (make test-browser)")
