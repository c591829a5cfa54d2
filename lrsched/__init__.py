"""lrsched: learning-rate schedules as exact, vectorized, framework-agnostic values.

>>> import numpy as np, lrsched
>>> s = lrsched.warmup(lrsched.cosine(base_lr=0.1, total_steps=1000), steps=100)
>>> lrs = s(np.arange(1100))
>>> lrs.shape, float(lrs.max())
((1100,), 0.1)
"""

from typing import TYPE_CHECKING

from lrsched._base import Route, Schedule, Tail, register_family
from lrsched._evaluate import StepTable
from lrsched._registry import lazy_names, register_function
from lrsched._validation import ArgumentError, ArgumentTypeError

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
    from lrsched._from_timm import from_timm
    from lrsched._from_transformers import from_transformers
    from lrsched._plateau import PlateauState, plateau
    from lrsched._plot import plot
    from lrsched._range_test import RangeTestResult, range_test
    from lrsched._tanh import tanh

__version__ = "0.1.0"

# Every other public name is imported from its module on first use: the families, the
# combinators and the config reader would double the cost of `import lrsched` (building
# their dataclasses, importing dataclasses and fractions), and plot and the range test also
# need an extra (matplotlib). The table is lrsched._registry's, as in the block above.
_LAZY = lazy_names()

# From the one table of lrsched._registry, not a second list to keep in step; type checkers
# read the TYPE_CHECKING block above, which tests/test_meta.py checks against that table.
__all__ = sorted(
    [
        "ArgumentError",
        "ArgumentTypeError",
        "Route",
        "Schedule",
        "StepTable",
        "Tail",
        "register_family",
        "register_function",
        *_LAZY,
    ]
)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrsched' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
