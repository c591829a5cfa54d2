"""Registers lrsched's strategies with hypothesis, so ``st.from_type(lrsched.Schedule)`` and
``st.from_type(lrsched.cosine)`` draw valid schedules.

Runs from hypothesis's ``hypothesis`` entry point (declared in pyproject.toml) when
hypothesis is imported, and again when ``lrsched.testing`` is imported. The strategies are
deferred, so registering them imports nothing but lrsched's own classes.
"""

from __future__ import annotations

import importlib


def _strategy_of(family: str):
    strategies = importlib.import_module("lrsched.testing.strategies")
    if family == "Schedule":
        return strategies.schedules()
    return strategies.FAMILY_STRATEGIES[family]()


def _hypothesis_setup_hook() -> None:
    from hypothesis import strategies as st

    from lrsched._base import Schedule
    from lrsched._registry import families

    def deferred(family: str):  # hypothesis wants a function here, not a partial
        return st.deferred(lambda: _strategy_of(family))

    st.register_type_strategy(Schedule, deferred("Schedule"))
    for name, cls in list(families().items()):
        if cls.__module__.startswith("lrsched."):  # users' own families draw their own way
            st.register_type_strategy(cls, deferred(name))
