"""Argument checks for code that extends lrsched: adapters and your own families.

The helpers lrsched's own families and adapters validate with, so that an extension's
errors read like the library's: ``func(): name must be <rule>, got <value>``, raised as
``lrsched.ArgumentError`` (a ``ValueError``) or, for a value of the wrong kind,
``lrsched.ArgumentTypeError`` (also a ``TypeError``). Each checker takes the call's name
``func``, the parameter's ``name`` and the ``value``, and returns the value normalised to
a plain Python number (numpy scalars are accepted, bools are not numbers), so schedules
built from it compare, hash and serialise the same way whatever the caller passed.

>>> import dataclasses, lrsched
>>> from lrsched import validation as check
>>> @dataclasses.dataclass(frozen=True)
... class halving(lrsched.Schedule):
...     base_lr: float
...     period: int
...     def __post_init__(self):  # frozen: store the normalised values with object.__setattr__
...         store = object.__setattr__
...         store(self, "base_lr", check.positive("halving", "base_lr", self.base_lr))
...         store(self, "period", check.integer("halving", "period", self.period, minimum=1))
...     def _values(self, t, xp=None):
...         return self.base_lr * 0.5 ** (t // self.period)
>>> halving(0.1, 10.0)
halving(base_lr=0.1, period=10)
>>> halving(0.1, 10)(25)
0.025
>>> try:
...     halving(0.1, 0)
... except lrsched.ArgumentError as error:
...     print(error)
halving(): period must be a positive integer, got 0
"""

# The code lives in lrsched._validation, which `import lrsched` loads anyway (the error
# types); this module is the documented subset of it, so the core's own helpers (the
# evaluator's checks of computed values) stay free to change.
from lrsched._validation import boolean as boolean
from lrsched._validation import choice as choice
from lrsched._validation import fail as fail
from lrsched._validation import in_range as in_range
from lrsched._validation import integer as integer
from lrsched._validation import non_negative as non_negative
from lrsched._validation import not_a_schedule as not_a_schedule
from lrsched._validation import positive as positive
from lrsched._validation import real as real
from lrsched._validation import refuse as refuse
from lrsched._validation import same_length as same_length
from lrsched._validation import sequence_of as sequence_of
from lrsched._validation import whole_if_integral as whole_if_integral

__all__ = [
    "boolean",
    "choice",
    "fail",
    "in_range",
    "integer",
    "non_negative",
    "not_a_schedule",
    "positive",
    "real",
    "refuse",
    "same_length",
    "sequence_of",
    "whole_if_integral",
]
