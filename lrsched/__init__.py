"""lrsched: learning-rate schedules as exact, vectorized, framework-agnostic values.

>>> import numpy as np, lrsched
>>> s = lrsched.warmup(lrsched.cosine(base_lr=0.1, total_steps=1000), steps=100)
>>> lrs = s(np.arange(1100))
>>> lrs.shape, float(lrs.max())
((1100,), 0.1)
"""

from typing import TYPE_CHECKING

from lrsched._base import Schedule, Tail, get_num_threads, set_num_threads
from lrsched._registry import register_function

if TYPE_CHECKING:  # for type checkers and the API docs; at run time see __getattr__ below
    from lrsched._basic import (
        constant,
        exponential,
        exponential_ramp,
        inverse_sqrt,
        inverse_time,
        lambda_lr,
        linear,
        multiplicative,
        multistep,
        piecewise_constant,
        piecewise_linear,
        polynomial,
        step,
    )
    from lrsched._compose import clip, per_epoch, product, sequence, shift, warmup
    from lrsched._config import from_config, parse
    from lrsched._cosine import cosine, warm_restarts, wsd
    from lrsched._cyclic import cycle_momentum, cyclic, one_cycle
    from lrsched._plateau import PlateauState, plateau
    from lrsched._plot import plot
    from lrsched._range_test import RangeTestResult, range_test

__version__ = "0.1.0"

__all__ = [
    "PlateauState",
    "RangeTestResult",
    "Schedule",
    "Tail",
    "clip",
    "constant",
    "cosine",
    "cycle_momentum",
    "cyclic",
    "exponential",
    "exponential_ramp",
    "from_config",
    "get_num_threads",
    "inverse_sqrt",
    "inverse_time",
    "lambda_lr",
    "linear",
    "multiplicative",
    "multistep",
    "one_cycle",
    "parse",
    "per_epoch",
    "piecewise_constant",
    "piecewise_linear",
    "plateau",
    "plot",
    "polynomial",
    "product",
    "range_test",
    "register_function",
    "sequence",
    "set_num_threads",
    "shift",
    "step",
    "warm_restarts",
    "warmup",
    "wsd",
]

# Every other public name is imported from its module on first use. The families, the
# combinators and the config reader would double the cost of `import lrsched` (building
# their dataclasses, importing dataclasses and fractions); plot and the range test also
# need an extra (matplotlib). The same modules as in the TYPE_CHECKING block above.
_MODULES = {
    "lrsched._basic": ("constant", "exponential", "exponential_ramp", "inverse_sqrt",
                       "inverse_time", "lambda_lr", "linear", "multiplicative", "multistep",
                       "piecewise_constant", "piecewise_linear", "polynomial", "step"),
    "lrsched._compose": ("clip", "per_epoch", "product", "sequence", "shift", "warmup"),
    "lrsched._config": ("from_config", "parse"),
    "lrsched._cosine": ("cosine", "warm_restarts", "wsd"),
    "lrsched._cyclic": ("cycle_momentum", "cyclic", "one_cycle"),
    "lrsched._plateau": ("PlateauState", "plateau"),
    "lrsched._plot": ("plot",),
    "lrsched._range_test": ("RangeTestResult", "range_test"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrsched' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
