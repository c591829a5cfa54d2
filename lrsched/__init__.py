"""lrsched: learning-rate schedules as exact, vectorized, framework-agnostic values.

>>> import numpy as np, lrsched
>>> s = lrsched.warmup(lrsched.cosine(base_lr=0.1, total_steps=1000), steps=100)
>>> lrs = s(np.arange(1100))
>>> lrs.shape, float(lrs.max())
((1100,), 0.1)
"""

from lrsched._base import Schedule, Tail, get_num_threads, set_num_threads
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
from lrsched._registry import register_function

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

# Names whose modules need an extra (matplotlib) or are heavier: imported on first use so
# that `import lrsched` stays numpy-only.
_LAZY = {"plot": "lrsched._plot", "range_test": "lrsched._range_test",
         "RangeTestResult": "lrsched._range_test"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrsched' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
