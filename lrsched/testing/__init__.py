"""Property-testing tools for schedules: hypothesis strategies and invariant checks.

``lrsched.testing.strategies`` (extra ``testing``: ``pip install "lrsched-numpy[testing]"``)
generates valid schedules of every family, composites and step arrays;
``check_schedule(s, ...)`` asserts the invariants a schedule claims (finite, non-negative,
bounds, monotone, periodic, vectorized equals scalar, deterministic, shape/dtype, config
round trip) on steps that hunt edge cases. ``check_schedule`` needs only numpy.

Importing this package registers the strategies with hypothesis (when it is installed),
so ``st.from_type(lrsched.Schedule)`` and ``st.from_type(lrsched.cosine)`` work.

>>> import lrsched
>>> from lrsched.testing import check_schedule
>>> steps = check_schedule(lrsched.step(0.1, step_size=30), monotone="decreasing")
"""

from lrsched.testing._checks import ScheduleCheckError, check_schedule, edge_steps, largest_step

__all__ = ["ScheduleCheckError", "check_schedule", "edge_steps", "largest_step", "strategies"]

_INSTALL_HINT = 'lrsched.testing.strategies needs hypothesis: pip install "lrsched-numpy[testing]"'


def _register_with_hypothesis() -> None:
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        return
    from lrsched.testing._hypothesis_setup import _hypothesis_setup_hook

    _hypothesis_setup_hook()


def __getattr__(name):
    if name == "strategies":
        import importlib

        try:
            module = importlib.import_module("lrsched.testing.strategies")
        except ModuleNotFoundError as error:
            if error.name != "hypothesis" and not str(error.name).startswith("hypothesis."):
                raise
            raise ImportError(_INSTALL_HINT) from error
        globals()["strategies"] = module
        return module
    raise AttributeError(f"module 'lrsched.testing' has no attribute {name!r}")


_register_with_hypothesis()
