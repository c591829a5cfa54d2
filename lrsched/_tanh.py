"""The tanh decay family (timm's ``TanhLRScheduler`` shape)."""

from __future__ import annotations

from lrsched import _validation as check
from lrsched._base import Schedule, Tail, frozen
from lrsched._ops import NUMPY


@frozen
class tanh(Schedule):
    r"""A hyperbolic-tangent decay from about ``base_lr`` to about ``min_lr`` over ``total_steps``.

    With :math:`u = \min(t, T)/T` and the bounds :math:`l` = ``lb``, :math:`h` = ``ub``:

    .. math:: \eta_t = \text{min\_lr} + \frac{\text{base\_lr} - \text{min\_lr}}{2}
              \bigl(1 - \tanh(l\,(1 - u) + h\,u)\bigr)

    The LR follows tanh from ``lb`` to ``ub``: it starts at
    :math:`\text{min\_lr} + (\text{base\_lr} - \text{min\_lr})(1 - \tanh l)/2` (base_lr to
    about 6 digits for the default ``lb=-7``) and holds its value at T after T, which is
    ``(1 - tanh(ub)) / 2`` of the way above ``min_lr`` (0.25 % for ``ub=3``). timm's
    scheduler drops to ``min_lr`` at T; ``lrsched.from_timm`` adds that step.

    Args:
        base_lr: the learning rate the curve starts near, >= 0.
        total_steps: T, a positive integer.
        min_lr: the learning rate it falls towards, >= 0.
        lb: where on tanh the curve starts, a real number below ``ub``.
        ub: where on tanh it ends.

    Raises:
        ArgumentError: a bad parameter, or ``lb >= ub``.

    timm ``TanhLRScheduler(t_initial=T, lb, ub, lr_min)`` for one cycle, before T.

    >>> import lrsched
    >>> s = lrsched.tanh(1.0, 10, lb=-1.0, ub=1.0)
    >>> s(5)
    0.5
    >>> round(s(0), 6), round(s(10), 6)
    (0.880797, 0.119203)
    """

    base_lr: float
    total_steps: int
    min_lr: float = 0.0
    lb: float = -7.0
    ub: float = 3.0

    def __post_init__(self):
        func = "tanh"
        lb = check.real(func, "lb", self.lb)
        ub = check.real(func, "ub", self.ub)
        if not lb < ub:
            check.fail(func, "ub", f"greater than lb={lb!r}", ub)
        self._set(
            base_lr=check.non_negative(func, "base_lr", self.base_lr),
            total_steps=check.integer(func, "total_steps", self.total_steps, minimum=1),
            min_lr=check.non_negative(func, "min_lr", self.min_lr),
            lb=lb,
            ub=ub,
        )

    def _values(self, t, xp=NUMPY):
        progress = xp.minimum(t, self.total_steps) / self.total_steps
        shape = 1.0 - xp.tanh(self.lb * (1.0 - progress) + self.ub * progress)
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * shape

    def _breakpoints(self, low, high):
        return (self.total_steps,)

    def tail(self):
        return Tail(float(self.total_steps))
