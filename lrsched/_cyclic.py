"""Cyclical policies: Smith's cyclic LR, the 1cycle policy, and their momentum cycles."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lrsched import _validation as check
from lrsched._base import Route, Schedule, Tail, frozen, function_field, user_function
from lrsched._cosine import half_cosine
from lrsched._ops import NUMPY
from lrsched._structure import Every

_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@frozen
class cyclic(Schedule):
    r"""Smith's cyclical learning rate: triangles between ``base_lr`` and ``max_lr``.

    With :math:`C = \text{up} + \text{down}`, cycle :math:`c = \lfloor t/C \rfloor + 1`,
    position :math:`x = (t \bmod C)/C` and :math:`r = \text{up}/C`:

    .. math:: \eta_t = \text{base\_lr} + (\text{max\_lr} - \text{base\_lr})\,h(x)\,
              \sigma, \quad h(x) = \begin{cases} x/r & x \le r \\ (x-1)/(r-1) & x > r
              \end{cases}

    where the scale :math:`\sigma` is 1 (``"triangular"``), :math:`2^{1-c}`
    (``"triangular2"``), :math:`\gamma^t` (``"exp_range"``), or ``scale_fn`` of c
    (``scale_mode="cycle"``) or of t (``"iterations"``). As in torch, the built-in modes
    choose their own scale_mode; ``scale_mode`` only applies to a ``scale_fn``.

    Args:
        base_lr: lower bound of each cycle, >= 0.
        max_lr: upper bound, >= 0.
        step_size_up: steps from base to max, > 0.
        step_size_down: steps from max back to base (default ``step_size_up``), >= 0.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: ``exp_range`` factor per step, in (0, 1].
        scale_fn: user function of the cycle or step (or a registered name); overrides mode.
        scale_mode: ``"cycle"`` or ``"iterations"``, the argument passed to ``scale_fn``.

    Torch ``CyclicLR``; ``.momentum(base, max)`` gives its ``cycle_momentum`` trajectory.
    Torch's ``triangular2`` raises OverflowError in cycle 1025; here the scale goes to 0.

    >>> import lrsched
    >>> lrsched.cyclic(0.1, 1.0, step_size_up=2)([0, 1, 2, 3, 4])
    array([0.1 , 0.55, 1.  , 0.55, 0.1 ])
    """

    base_lr: float
    max_lr: float
    step_size_up: float = 2000
    step_size_down: float | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    scale_fn: Callable | None = function_field(None)
    scale_mode: str = "cycle"

    def __post_init__(self):
        func = "cyclic"
        down = self.step_size_down
        self._set(
            base_lr=check.non_negative(func, "base_lr", self.base_lr),
            max_lr=check.non_negative(func, "max_lr", self.max_lr),
            step_size_up=check.whole_if_integral(
                check.step_length(
                    func, "step_size_up", self.step_size_up, "a finite number of cycles"
                )
            ),
            step_size_down=None
            if down is None
            else check.whole_if_integral(check.non_negative(func, "step_size_down", down)),
            mode=check.choice(func, "mode", self.mode, _CYCLIC_MODES),
            gamma=check.in_range(func, "gamma", self.gamma, 0.0, 1.0, low_open=True),
            scale_fn=user_function(func, "scale_fn", self.scale_fn, optional=True),
            scale_mode=check.choice(func, "scale_mode", self.scale_mode, ("cycle", "iterations")),
        )
        down = self.step_size_up if self.step_size_down is None else self.step_size_down
        if not math.isfinite(float(self.step_size_up) + float(down)):
            check.fail(
                func,
                "step_size_up" if self.step_size_down is None else "step_size_down",
                "a number that keeps the cycle, step_size_up + step_size_down, finite",
                self.step_size_up if self.step_size_down is None else self.step_size_down,
            )

    def _cycle_shape(self, t: np.ndarray, xp=NUMPY) -> np.ndarray:
        """h(x) * sigma: where in [0, 1] the schedule is between its low and high ends."""
        up = float(self.step_size_up)
        down = up if self.step_size_down is None else float(self.step_size_down)
        length = up + down
        ratio = up / length
        # fmod is exact, so the position in the cycle stays right for steps up to 2**53.
        _, into = xp.floor_divmod(t, length)
        position = into / length
        rising = position <= ratio
        if ratio < 1.0:
            shape = xp.where(rising, position / ratio, (position - 1.0) / (ratio - 1.0))
        else:
            shape = position / ratio
        if self.scale_fn is None and self.mode == "triangular":
            return shape
        return shape * self._scale(t, (t - into) / length + 1.0, xp)

    def _scale(self, t: np.ndarray, cycle: np.ndarray, xp=NUMPY) -> np.ndarray:
        if self.scale_fn is not None:
            argument = cycle if self.scale_mode == "cycle" else t
            return xp.user(
                self.scale_fn,
                argument,
                func="cyclic",
                name="scale_fn",
                at=self.scale_mode.rstrip("s"),
            )
        if self.mode == "triangular2":
            return xp.power(0.5, cycle - 1.0)  # = 1/2**(c-1) exactly, without overflow
        return xp.power(self.gamma, t)

    def _values(self, t, xp=NUMPY):
        return self._cycle_shape(t, xp) * (self.max_lr - self.base_lr) + self.base_lr

    def _breakpoints(self, low, high):
        """Lows at every multiple of the cycle, highs a rise later (and, in exp_range, where
        the rise times gamma**t turns); None for a user function of the iteration."""
        if self.scale_fn is not None and self.scale_mode == "iterations":
            return None
        up = float(self.step_size_up)
        length = up + (up if self.step_size_down is None else float(self.step_size_down))
        found = [Every(length), Every(length, offset=up, first=0)]
        if self.scale_fn is None and self.mode == "exp_range" and self.gamma < 1.0:
            # (t - kC) * gamma**t turns at t - kC = -1 / log(gamma), if inside the rise.
            turn = -1.0 / math.log(self.gamma)
            if turn < up:
                found.append(Every(length, offset=turn, first=0))
        return found

    def momentum(self, base_momentum: float = 0.8, max_momentum: float = 0.9) -> Schedule:
        """The momentum that torch's ``CyclicLR(cycle_momentum=True)`` sets: high when the
        LR is low. ``momentum = max - (max - base) * h(x) * sigma``.

        >>> import lrsched
        >>> lrsched.cyclic(0.1, 1.0, step_size_up=2).momentum(0.8, 0.9)([0, 2])
        array([0.9, 0.8])
        """
        return cycle_momentum(self, base_momentum=base_momentum, max_momentum=max_momentum)

    def tail(self):
        if self.scale_fn is None and self.mode == "triangular":
            down = self.step_size_up if self.step_size_down is None else self.step_size_down
            return Tail(0.0, float(self.step_size_up + down))
        return None


@frozen
class one_cycle(Schedule):
    r"""The 1cycle policy: warm up to ``max_lr``, then anneal far below the start.

    From ``initial = max_lr/div_factor`` up to ``max_lr`` until step
    :math:`e_1 = \text{pct\_start}\cdot T - 1`, then down to
    ``initial/final_div_factor`` at :math:`T - 1` (torch's phase ends, fractional
    :math:`e_1` included). With ``three_phase`` it comes back to ``initial`` at
    :math:`2\,\text{pct\_start}\cdot T - 2` before the final anneal. Each phase moves from
    a to b with progress p as :math:`b + (a-b)(1+\cos\pi p)/2` (``anneal="cos"``) or
    :math:`a + (b-a)p` (``"linear"``). It holds its last LR after step T - 1, where torch
    extrapolates one step and then raises. With ``pct_start * T == 1`` the rise has no
    length and step 0 is ``max_lr`` (torch raises ZeroDivisionError).

    Args:
        max_lr: the peak, >= 0.
        total_steps: T, an integer >= 2.
        pct_start: fraction of T spent rising, in (0, 1).
        anneal: ``"cos"`` or ``"linear"``.
        div_factor: ``max_lr / initial``, > 0.
        final_div_factor: ``initial / final``, > 0.
        three_phase: the symmetric variant with a separate final anneal.

    Torch ``OneCycleLR``; ``.momentum(base, max)`` gives its ``cycle_momentum`` trajectory.

    >>> import lrsched
    >>> s = lrsched.one_cycle(max_lr=1.0, total_steps=10, pct_start=0.2, anneal="linear",
    ...                       div_factor=10.0, final_div_factor=1.0)
    >>> s([0, 1, 5, 9, 20])
    array([0.1 , 1.  , 0.55, 0.1 , 0.1 ])
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    anneal: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def __post_init__(self):
        func = "one_cycle"
        self._set(
            max_lr=check.non_negative(func, "max_lr", self.max_lr),
            total_steps=check.integer(func, "total_steps", self.total_steps, minimum=2),
            pct_start=check.in_range(
                func, "pct_start", self.pct_start, 0.0, 1.0, low_open=True, high_open=True
            ),
            anneal=check.choice(func, "anneal", self.anneal, ("cos", "linear")),
            div_factor=check.positive(func, "div_factor", self.div_factor),
            final_div_factor=check.positive(func, "final_div_factor", self.final_div_factor),
            three_phase=check.boolean(func, "three_phase", self.three_phase),
        )
        initial = self.max_lr / self.div_factor
        if not math.isfinite(initial):  # a subnormal div_factor: the start would be inf
            check.fail(
                func,
                "div_factor",
                f"a positive number with max_lr / div_factor finite (max_lr={self.max_lr!r})",
                self.div_factor,
            )
        if not math.isfinite(initial / self.final_div_factor):
            check.fail(
                func,
                "final_div_factor",
                "a positive number with max_lr / div_factor / final_div_factor finite "
                f"(max_lr / div_factor={initial!r})",
                self.final_div_factor,
            )

    def _phase_ends(self) -> list[float]:
        rise_end = float(self.pct_start * self.total_steps) - 1
        if self.three_phase:
            return [
                rise_end,
                float(2 * self.pct_start * self.total_steps) - 2,
                float(self.total_steps - 1),
            ]
        return [rise_end, float(self.total_steps - 1)]

    def _levels(self) -> tuple[float, ...]:
        """The LR at each phase boundary: start of phase 0, then the end of every phase."""
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        if self.three_phase:
            return (initial, self.max_lr, initial, final)
        return (initial, self.max_lr, final)

    def _through(self, t: np.ndarray, levels: tuple[float, ...], xp=NUMPY) -> np.ndarray:
        """Anneal through ``levels`` phase by phase, choosing phases as torch does."""
        ends = self._phase_ends()
        starts = [0.0, *ends[:-1]]

        def phase(index: int, steps: np.ndarray) -> np.ndarray:
            span = ends[index] - starts[index]
            # A zero-length first phase (pct_start * T == 1) is already over at step 0.
            progress = (steps - starts[index]) / span if span > 0 else xp.full_like(steps, 1.0)
            begin, end = levels[index], levels[index + 1]
            if self.anneal == "cos":
                return half_cosine(progress, begin, end, xp)
            return progress * (end - begin) + begin

        # The first phase whose end is >= t; steps past every end stay in the last phase.
        return xp.piecewise(xp.minimum(t, ends[-1]), ends[:-1], "left", phase)

    def _values(self, t, xp=NUMPY):
        return self._through(t, self._levels(), xp)

    def _breakpoints(self, low, high):
        return self._phase_ends()

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> Schedule:
        """The momentum (or Adam beta1) torch's ``OneCycleLR(cycle_momentum=True)`` sets:
        from ``max`` down to ``base`` while the LR rises, and back up as it falls.

        >>> import lrsched
        >>> m = lrsched.one_cycle(1.0, total_steps=10, pct_start=0.2, anneal="linear").momentum()
        >>> m([0, 1, 9])
        array([0.95, 0.85, 0.95])
        """
        return cycle_momentum(self, base_momentum=base_momentum, max_momentum=max_momentum)

    def tail(self):
        return Tail(float(self.total_steps - 1))


@frozen
class cycle_momentum(Schedule):
    r"""The momentum cycle that mirrors a ``one_cycle`` or ``cyclic`` learning rate.

    For ``cyclic``: :math:`m_t = \text{max} - (\text{max} - \text{base})\,h(x)\,\sigma`.
    For ``one_cycle``: the same phases as the LR, through max -> base -> max
    (three-phase: max -> base -> max -> max). Usually built with ``s.momentum(...)``.

    Args:
        schedule: a ``one_cycle`` or ``cyclic`` schedule.
        base_momentum: momentum at the LR's peak, in [0, 1].
        max_momentum: momentum at the LR's low points, in [0, 1].

    >>> import lrsched
    >>> lrsched.cycle_momentum(lrsched.cyclic(0.1, 1.0, step_size_up=2), base_momentum=0.8, max_momentum=0.9)([0, 2, 4])
    array([0.9, 0.8, 0.9])
    """

    schedule: one_cycle | cyclic
    base_momentum: float = 0.85
    max_momentum: float = 0.95

    def __post_init__(self):
        func = "cycle_momentum"
        if not isinstance(self.schedule, (one_cycle, cyclic)):
            check.fail(func, "schedule", "a one_cycle or cyclic schedule", self.schedule, TypeError)
        self._set(
            base_momentum=check.in_range(func, "base_momentum", self.base_momentum, 0.0, 1.0),
            max_momentum=check.in_range(func, "max_momentum", self.max_momentum, 0.0, 1.0),
        )

    def __repr__(self):
        return (
            f"{self.schedule!r}.momentum(base_momentum={self.base_momentum!r}, "
            f"max_momentum={self.max_momentum!r})"
        )

    def _values(self, t, xp=NUMPY):
        high, low = self.max_momentum, self.base_momentum
        if isinstance(self.schedule, cyclic):
            return self.schedule._cycle_shape(t, xp) * -(high - low) + high
        levels = (high, low, high, high) if self.schedule.three_phase else (high, low, high)
        return self.schedule._through(t, levels, xp)

    def routes(self):
        return (Route(self.schedule),)

    def _flat_pieces(self):
        return False
