"""lrsched: learning-rate schedules as exact, vectorized, framework-agnostic values.

>>> import numpy as np, lrsched
>>> s = lrsched.warmup(lrsched.cosine(base_lr=0.1, total_steps=1000), steps=100)
>>> lrs = s(np.arange(1100))
>>> lrs.shape, float(lrs.max())
((1100,), 0.1)
"""

from typing import TYPE_CHECKING

from lrsched._base import Route as Route
from lrsched._base import Schedule as Schedule
from lrsched._base import Tail as Tail
from lrsched._base import register_family as register_family
from lrsched._evaluate import StepTable as StepTable
from lrsched._registry import lazy_names
from lrsched._registry import register_function as register_function
from lrsched._validation import ArgumentError as ArgumentError
from lrsched._validation import ArgumentTypeError as ArgumentTypeError

# `name as name`: an explicit re-export, which type checkers require of a typed package.
if TYPE_CHECKING:  # for type checkers and the API docs; at run time see __getattr__ below
    from lrsched._basic import constant as constant
    from lrsched._basic import exponential as exponential
    from lrsched._basic import exponential_ramp as exponential_ramp
    from lrsched._basic import inverse_sqrt as inverse_sqrt
    from lrsched._basic import inverse_time as inverse_time
    from lrsched._basic import lambda_lr as lambda_lr
    from lrsched._basic import linear as linear
    from lrsched._basic import multiplicative as multiplicative
    from lrsched._basic import multistep as multistep
    from lrsched._basic import piecewise_constant as piecewise_constant
    from lrsched._basic import piecewise_linear as piecewise_linear
    from lrsched._basic import polynomial as polynomial
    from lrsched._basic import step as step
    from lrsched._compose import clip as clip
    from lrsched._compose import per_epoch as per_epoch
    from lrsched._compose import product as product
    from lrsched._compose import sequence as sequence
    from lrsched._compose import shift as shift
    from lrsched._compose import warmup as warmup
    from lrsched._config import from_config as from_config
    from lrsched._config import parse as parse
    from lrsched._cosine import cosine as cosine
    from lrsched._cosine import warm_restarts as warm_restarts
    from lrsched._cosine import wsd as wsd
    from lrsched._cyclic import cycle_momentum as cycle_momentum
    from lrsched._cyclic import cyclic as cyclic
    from lrsched._cyclic import one_cycle as one_cycle
    from lrsched._from_timm import from_timm as from_timm
    from lrsched._from_transformers import from_transformers as from_transformers
    from lrsched._plateau import PlateauState as PlateauState
    from lrsched._plateau import plateau as plateau
    from lrsched._plot import plot as plot
    from lrsched._range_test import RangeTestResult as RangeTestResult
    from lrsched._range_test import range_test as range_test
    from lrsched._structure import Breakpoints as Breakpoints
    from lrsched._structure import breakpoints as breakpoints
    from lrsched._tanh import tanh as tanh

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
