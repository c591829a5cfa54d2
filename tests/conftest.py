"""Shared test settings: hypothesis profiles ("default" for every run, "fuzz" for long hunts).

Pick one with the HYPOTHESIS_PROFILE environment variable, e.g.
``HYPOTHESIS_PROFILE=fuzz pytest tests/``.
"""

import os

import pytest
from hypothesis import settings

# CI replays the same examples every run, so a landing never hinges on a lucky draw; local
# runs and the fuzz profile keep exploring.
settings.register_profile(
    "default", deadline=None, max_examples=25, derandomize=bool(os.environ.get("CI"))
)
settings.register_profile("fuzz", deadline=None, max_examples=10_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which may not be installed
def pytest_xdist_auto_num_workers(config):
    # Every worker imports torch, Keras and jax (about 0.5 GB each): past 4 workers a large
    # machine gains little and a small one runs out of memory.
    return max(1, min(os.cpu_count() or 1, 4))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "reads_probe: reads a training run started in another "
        "process; runs at the end of the session",
    )


def pytest_collection_modifyitems(config, items):
    # Keras fits run in background processes started by tests/test_adapter_keras.py's first
    # test; the tests reading their results go last, while the rest of the suite runs.
    late = [item for item in items if item.get_closest_marker("reads_probe")]
    if late:
        items[:] = [item for item in items if not item.get_closest_marker("reads_probe")] + late


# Scripts the Keras tests run in their own processes: importing them here (for doctests)
# would fix the Keras backend for the whole session.
# The framework suite's scripts run under torchrun or import Lightning: not for doctests.
collect_ignore_glob = ["keras_cases/*", "range_cases/keras_cases.py", "framework_cases/*"]


@pytest.fixture(autouse=True)
def _forget_families_a_test_registers(monkeypatch):
    """A family a test (or a docs page it runs) registers is forgotten after it, so tests
    that list lrsched's families see the library's own, whatever ran before."""
    from lrsched import _registry

    monkeypatch.setattr(_registry, "_USER_FAMILIES", dict(_registry._USER_FAMILIES))
