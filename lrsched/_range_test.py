"""The LR range test (Smith 2015, section 3.3): ramp the LR every step, record the loss.

``range_test`` drives any ``train_step(lr) -> loss`` callable along the core's
``exponential_ramp`` (or ``linear``) schedule, stops when the loss explodes and returns a
``RangeTestResult`` that suggests an initial LR and plots the loss-vs-LR curve.

Why the default suggestion (``method="divergence"``) is built the way it is (the
derivation and its validation are in docs/range-test.md):

* On gradient descent the loss keeps falling for a while after the LR has passed the
  divergence point 2/L: the high-curvature directions were wiped out when the LR crossed
  1/L, and the unstable one needs steps of growth (by ``(lr*L - 1)**2`` per step) before
  it shows. On quadratics with condition numbers 10 to 10^4 the minimum of the loss lands
  up to 8 times past 2/L, and earlier with gradient noise, whose floor rises with the LR.
  No fixed back-off from the minimum is both safe and not 10x too small.
* The explosion itself measures the divergence point: a rise above the minimum growing
  by a ratio R per step at LR ``lr`` is a gradient-descent mode of curvature
  ``L = (1 + sqrt(R)) / lr``. The suggestion is 1/L (half the divergence LR), capped at
  the minimum's LR / 2.5; without a measured explosion it is the minimum's LR / 10.
* The curve is smoothed by a centred running median (no EMA lag, which moves features
  late by a ramp-speed-dependent amount; exploding points do not leak backwards) and read
  only up to its first blow-up. Medians, minima and ratios of differences commute with
  ``a * loss + b`` (a > 0), and so does the stop rule: the suggestion does not depend on
  the loss's units or offset.
"""

from __future__ import annotations

import bisect
import heapq
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from lrsched import _validation as check
from lrsched._basic import exponential_ramp, linear

_MODES = ("exp", "linear")
_METHODS = ("divergence", "minimum", "steep", "valley", "slide")
_STOP_REASONS = ("completed", "diverged", "non-finite", "out-of-data")

# Back-offs: from the divergence LR measured on the explosion (2/L -> 1/L); from the
# smoothed minimum when the explosion was measured too (a cap); and from the minimum alone
# (fastai's min/10: the minimum overshoots 2/L by up to ~8x on ill-conditioned quadratics).
_MINIMUM_BACKOFF = 10.0
_DIVERGENCE_BACKOFF = 2.0
_EXPLODED_MINIMUM_BACKOFF = 2.5
# Steps recorded after the stop fires, so that the explosion's growth rate is measured.
_STEPS_AFTER_STOP = 2
# Suggestions read the curve up to where the smoothed loss first gives back this share
# of its drop: a later, lower minimum after a blow-up is past a divergence.
_GIVE_BACK = 0.25
# A rise above the minimum counts as signal once it exceeds this many robust noise sigmas.
_NOISE_SIGMAS = 4.0
# fastai's slide rule at its defaults: a window of 15 points and a slope difference of
# 0.005 loss per point, on its 100-point ramp. Here the window is 15% of the planned
# ramp and slopes are per 1% of the ramp, in units of the curve's drop, so the rule reads
# a curve the same way whatever its length and its loss's units.
_SLIDE_WINDOW = 0.15
_SLIDE_THRESHOLD = 0.005


def _smoothing_half_width(num_steps: int) -> int:
    return max(1, round(num_steps / 50))


def _order_statistics(
    values: np.ndarray, starts: np.ndarray, stops: np.ndarray, ranks: np.ndarray
) -> np.ndarray:
    """The ``ranks[q]``-th smallest (0-based) of ``values[starts[q]:stops[q]]``, every q at once.

    A wavelet matrix over the values' ranks: one stable partition per bit of the rank,
    then every query walks the bits from the top, all queries in one vector operation per
    bit. O((n + queries) log n) time and O(n log n) memory, where a median per window
    costs O(n * window) and a window of 2% of a long curve makes that quadratic. Each
    answer is one of the values, so a median of an odd count is bit for bit
    ``np.median``'s.
    """
    size = values.size
    order = np.argsort(values, kind="stable")
    position_dtype = np.int32 if size < 2**31 - 1 else np.int64
    current = np.empty(size, dtype=position_dtype)
    current[order] = np.arange(size, dtype=position_dtype)
    levels = max(1, (size - 1).bit_length())
    # zeros_before[level][p]: how many of the first p entries have a 0 at that bit.
    zeros_before = np.zeros((levels, size + 1), dtype=position_dtype)
    for level in range(levels):
        bit = levels - 1 - level
        is_zero = ((current >> bit) & 1) == 0
        np.cumsum(is_zero, out=zeros_before[level, 1:])
        current = np.concatenate([current[is_zero], current[~is_zero]])
    low = np.asarray(starts, dtype=position_dtype).copy()
    high = np.asarray(stops, dtype=position_dtype).copy()
    wanted = np.asarray(ranks, dtype=position_dtype).copy()
    found = np.zeros(low.size, dtype=position_dtype)
    for level in range(levels):
        counts = zeros_before[level]
        total_zeros = counts[-1]
        zeros_low, zeros_high = counts[low], counts[high]
        zeros_inside = zeros_high - zeros_low
        right = wanted >= zeros_inside
        found |= right.astype(position_dtype) << (levels - 1 - level)
        wanted = np.where(right, wanted - zeros_inside, wanted)
        low = np.where(right, total_zeros + low - zeros_low, zeros_low)
        high = np.where(right, total_zeros + high - zeros_high, zeros_high)
    return values[order[found]]


def _running_median(values: np.ndarray, half_width: int) -> np.ndarray:
    """Centred running median; near the ends the window shrinks symmetrically.

    A window that shrank on one side only would lag at the end of the curve, exactly
    where the explosion is, and drag the minimum onto the last point. Every window has
    an odd number of points, so each median is one of the values.
    """
    size = values.size
    half_width = min(half_width, (size - 1) // 2)
    if half_width == 0:
        return values.copy()
    index = np.arange(size)
    # Half-widths shrink to the distance to the nearer end (0: a point keeps its value).
    half = np.minimum(np.minimum(index, size - 1 - index), half_width)
    return _order_statistics(values, index - half, index + half + 1, half)


def _prefix_step_noise(losses: np.ndarray) -> np.ndarray:
    """Robust noise sigma of ``losses[: max(i, 2) + 1]`` for every i, in O(n log n).

    Each is the median of |l[k+1] - l[k]| over that prefix divided by 0.954: for i.i.d.
    Gaussian noise that median is 0.954 sigma, and a trend only makes the estimate larger,
    which delays a stop rather than firing it early. All prefixes at once, from two order
    statistics each (their mean for an even count, as ``np.median`` takes it).
    """
    steps = np.abs(np.diff(losses))
    counts = np.maximum(np.arange(losses.size), 2)
    both = np.concatenate([counts, counts])
    middles = _order_statistics(
        steps,
        np.zeros(both.size, dtype=np.int64),
        both,
        np.concatenate([(counts - 1) // 2, counts // 2]),
    )
    lower, upper = middles[: counts.size], middles[counts.size :]
    medians = np.where(counts % 2 == 1, lower, (lower + upper) / 2)
    return medians / 0.954


class RangeTestResult:
    """What an LR range test recorded, with suggestions and a plot.

    Attributes:
        lrs: the LR used at each recorded step (float64 array).
        losses: the raw loss returned at each recorded step; a NaN/inf loss ends the test
            and is not recorded.
        smoothed_losses: a centred running median of ``losses`` over about 2% of the
            planned steps either side (the curve suggestions and the plot use; no lag).
        stop_reason: ``"completed"`` (reached ``end_lr``), ``"diverged"`` (the running
            smoothed loss exceeded the divergence threshold), ``"non-finite"`` or
            ``"out-of-data"`` (training ended before the ramp did: Keras's
            ``RangeTestCallback`` with too few batches).
        num_steps: the number of steps the ramp was planned for.

    Build one with ``lrsched.range_test``; ``RangeTestResult(lrs, losses)`` also accepts
    curves recorded elsewhere.

    Args:
        lrs: strictly increasing positive LRs, at least 3.
        losses: the finite loss recorded at each LR.
        stop_reason: why the recording ended (see above).
        num_steps: planned ramp length (sets the smoothing width); ``len(lrs)`` when None.

    Raises:
        ValueError / TypeError: mismatched lengths, bad LRs, non-finite losses.

    fastai ``Recorder.lrs``/``losses`` with ``SuggestionMethod``; torch-lr-finder
    ``LRFinder.history``.

    >>> import numpy as np, lrsched
    >>> lrs = np.geomspace(1e-4, 1.0, 41)
    >>> losses = 1.0 / (1.0 + lrs * 100.0) + np.where(lrs > 0.3, (lrs - 0.3) * 50, 0.0)
    >>> result = lrsched.RangeTestResult(lrs, losses)
    >>> print(f"{result.suggest('minimum'):.3g}")
    0.02
    """

    __slots__ = (
        "_read_end",
        "_skip_end",
        "losses",
        "lrs",
        "num_steps",
        "smoothed_losses",
        "stop_reason",
    )

    def __init__(
        self, lrs: Any, losses: Any, *, stop_reason: str = "completed", num_steps: int | None = None
    ):
        func = "RangeTestResult"
        lrs = np.array(lrs, dtype=np.float64).reshape(-1)
        losses = np.array(losses, dtype=np.float64).reshape(-1)
        check.same_length(func, "lrs", lrs, "losses", losses)
        if lrs.size < 3:
            check.fail(func, "lrs", "at least 3 recorded steps", lrs.size)
        if not (np.all(np.isfinite(lrs)) and np.all(lrs > 0)):
            check.fail(func, "lrs", "finite and positive", lrs)
        if np.any(np.diff(lrs) <= 0):
            check.fail(func, "lrs", "strictly increasing", lrs)
        if not np.all(np.isfinite(losses)):
            check.fail(
                func, "losses", "finite (drop NaN/inf steps before building a result)", losses
            )
        self.lrs = lrs
        self.losses = losses
        self.stop_reason = check.choice(func, "stop_reason", stop_reason, _STOP_REASONS)
        self.num_steps = (
            lrs.size
            if num_steps is None
            else check.integer(func, "num_steps", num_steps, minimum=lrs.size)
        )
        self.smoothed_losses = _running_median(losses, _smoothing_half_width(self.num_steps))
        for name in ("lrs", "losses", "smoothed_losses"):
            getattr(self, name).flags.writeable = False
        self._skip_end = 0
        self._read_end = self._first_rise_end()

    def __repr__(self) -> str:
        return (
            f"RangeTestResult(steps={self.lrs.size}, lr=[{self.lrs[0]:.3g}, "
            f"{self.lrs[-1]:.3g}], stop_reason={self.stop_reason!r})"
        )

    def _first_rise_end(self) -> int:
        """One past the last step that belongs to the first descent and its first rise.

        Training can blow up, recover and reach a lower loss at a still larger LR (momentum
        and adaptive optimizers do); that lower minimum is past a divergence. The curve is
        read up to where the smoothed loss first gives back ``_GIVE_BACK`` of its drop, plus
        a few raw steps so that the rise's growth can be measured.
        """
        smoothed = self.smoothed_losses
        best_so_far = np.minimum.accumulate(smoothed)
        peak_so_far = np.maximum.accumulate(smoothed)
        # The highest value before each running best: the drop that best achieved.
        best_index = np.maximum.accumulate(
            np.where(smoothed == best_so_far, np.arange(smoothed.size), 0)
        )
        drop = peak_so_far[best_index] - best_so_far
        # Noise measured on the steps so far (loss noise often shrinks with the loss).
        noise = _NOISE_SIGMAS * _prefix_step_noise(self.losses)
        rise = smoothed - best_so_far
        rising = np.flatnonzero((rise > _GIVE_BACK * drop) & (rise > noise) & (drop > noise))
        if rising.size == 0:
            return smoothed.size
        return min(smoothed.size, int(rising[0]) + 1 + _STEPS_AFTER_STOP)

    def _minimum_index(self) -> int:
        return int(np.argmin(self.smoothed_losses[: self._read_end]))

    def _noise_sigma(self, upto: int) -> float:
        """Robust (MAD) spread of the raw losses around the smoothed curve up to ``upto``."""
        residuals = self.losses[: upto + 1] - self.smoothed_losses[: upto + 1]
        return 1.4826 * float(np.median(np.abs(residuals - np.median(residuals))))

    def divergence_lr(self) -> float:
        r"""The LR above which the explosion at the end of the curve began, or ``inf``.

        After the smoothed minimum, a step ``j`` whose rise above the minimum,
        :math:`r_j = \ell_j - \min s`, is clear of noise and grows to :math:`r_{j+1}`
        measures a gradient-descent curvature :math:`\hat L = (1 + \sqrt{r_{j+1}/r_j})
        / \eta_j` (an unstable mode grows by :math:`(\eta\lambda - 1)^2` per step). The
        step with the largest rise is used (the stiffest mode dominates it most) and the
        divergence LR is :math:`2/\hat L`.

        Returns:
            The divergence LR (Python float), or ``inf`` when no growing rise was recorded.

        >>> import numpy as np, lrsched
        >>> lrs = np.geomspace(1e-3, 10.0, 50)
        >>> w, losses = 1.0, []
        >>> for lr in lrs:  # gradient descent on f(w) = 2 w**2: L = 4, diverges above 0.5
        ...     losses.append(2 * w * w)
        ...     w -= lr * 4 * w
        >>> result = lrsched.RangeTestResult(lrs[:len(losses)], losses)
        >>> bool(0.5 * 0.75 <= result.divergence_lr() <= 0.5)
        True
        """
        minimum = self._minimum_index()
        floor = self.smoothed_losses[minimum]
        rise = self.losses - floor
        drop = float(self.smoothed_losses[0] - floor)
        # Below this a rise is noise (MAD), or float rounding of the curve's own range.
        threshold = max(_NOISE_SIGMAS * self._noise_sigma(minimum), 1e-12 * drop)
        steps = np.arange(minimum, self._read_end - 1)
        growing = steps[(rise[steps] > threshold) & (rise[steps + 1] > rise[steps])]
        if growing.size == 0:
            return math.inf
        # The pair deepest into the explosion: there the fastest-growing (stiffest) mode
        # dominates the rise most, so its growth rate is the least diluted by the others.
        j = int(growing[np.argmax(rise[growing])])
        curvature = (1.0 + math.sqrt(rise[j + 1] / rise[j])) / self.lrs[j]
        return 2.0 / curvature

    def suggest(
        self, method: str = "divergence", *, skip_start: int = 0, skip_end: int = 0
    ) -> float:
        r"""Suggest an initial (constant or peak) learning rate from the recorded curve.

        The methods (``method=``):

            ``"divergence"`` (default): :math:`\min(\text{divergence\_lr}() / 2,\;
            \eta_{\min s} / 2.5)` when the curve recorded a growing rise after its
            minimum, else :math:`\eta_{\min s} / 10`, where :math:`\eta_{\min s}` is the
            LR at the minimum of ``smoothed_losses``. Validated on gradient descent over
            quadratics (condition numbers 10 to 10^4, with and without gradient noise, any
            ramp speed): below 2/L, cuts the loss 100x in 300 constant-LR steps, within 30x
            of the best constant LR (see docs/range-test.md for the figures).
            ``"minimum"``: fastai's ``minimum``, the LR at the smoothed minimum divided by 10.
            ``"steep"``: fastai's ``steep``, the LR where the smoothed loss falls fastest
            per unit of log LR (before the minimum). Noisy, and it moves with ramp speed.
            ``"valley"``: fastai's ``valley``: the middle of the longest decreasing
            subsequence of the smoothed loss.
            ``"slide"``: fastai's ``slide`` (interval slide rule): from the end of the
            curve read (up to its first blow-up) a window slides towards small LRs until
            the slopes :math:`g = \Delta s` at its two ends agree,
            :math:`|g_r - g_{r-w}| \le 0.005`; the suggestion is the left end of the last
            window where they did not. fastai's defaults (w = 15 points, 0.005 loss per
            point) are for its 100-step ramp: here w is 15% of ``num_steps`` and slopes
            are per 1% of the ramp and in units of the curve's drop (highest smoothed
            loss before the minimum minus the minimum), the same rule on a 100-step ramp
            of a loss falling by 1, and independent of ramp length and loss units.

        Args:
            method: one of ``"divergence"``, ``"minimum"``, ``"steep"``, ``"valley"``,
                ``"slide"``.
            skip_start: leave out the first ``skip_start`` recorded points (torch-lr-finder's
                ``skip_start``: early steps where the loss has not started to move).
            skip_end: leave out the last ``skip_end`` recorded points (an explosion).
                The kept points keep their smoothed values; at least 3 must remain.

        Returns:
            A learning rate (Python float) within the recorded LR range (``minimum`` and
            ``divergence`` may go below it).

        Raises:
            ValueError: unknown method, or skips that leave fewer than 3 points.

        Warns:
            UserWarning: the smoothed loss was still falling at the last point read.

        >>> import numpy as np, lrsched
        >>> lrs = np.geomspace(1e-3, 10.0, 50)
        >>> w, losses = 1.0, []
        >>> for lr in lrs:  # f(w) = 2 w**2 diverges for lr > 0.5
        ...     losses.append(2 * w * w)
        ...     w -= lr * 4 * w
        >>> result = lrsched.RangeTestResult(lrs[:len(losses)], losses)
        >>> bool(0.02 < result.suggest() < 0.5)
        True
        >>> round(result.suggest("slide"), 2)  # the end of the flat bottom: past 0.5
        0.6
        """
        check.choice("suggest", "method", method, _METHODS)
        return self._trimmed("suggest", skip_start, skip_end)._suggest(method)

    def _trimmed(self, func: str, skip_start: int, skip_end: int) -> RangeTestResult:
        """The same result without its first and last few points (smoothing kept)."""
        skip_start = check.integer(func, "skip_start", skip_start)
        skip_end = check.integer(func, "skip_end", skip_end)
        size = self.lrs.size
        if size - skip_start - skip_end < 3:
            check.fail(
                func,
                "skip_end" if skip_end else "skip_start",
                f"small enough to keep 3 of the {size} points "
                f"(skip_start={skip_start}, skip_end={skip_end})",
                skip_end if skip_end else skip_start,
            )
        if skip_start == skip_end == 0:
            return self
        view = object.__new__(RangeTestResult)
        kept = slice(skip_start, size - skip_end)
        view.lrs, view.losses = self.lrs[kept], self.losses[kept]
        view.smoothed_losses = self.smoothed_losses[kept]
        view.stop_reason, view.num_steps = self.stop_reason, self.num_steps
        view._skip_end = skip_end
        view._read_end = view._first_rise_end()
        return view

    def _suggest(self, method: str) -> float:
        minimum = self._minimum_index()
        if minimum == self.lrs.size - 1 and (self.stop_reason == "completed" or self._skip_end):
            advice = "lower skip_end" if self._skip_end else "raise end_lr"
            warnings.warn(
                f"range_test: the smoothed loss was still falling at the last LR "
                f"({self.lrs[-1]:.3g}); {advice} for a trustworthy suggestion",
                UserWarning,
                stacklevel=3,
            )
        if method == "minimum":
            return float(self.lrs[minimum] / _MINIMUM_BACKOFF)
        if method == "steep":
            return float(self.lrs[self._steepest_index(minimum)])
        if method == "valley":
            return float(self.lrs[self._valley_index()])
        if method == "slide":
            return float(self.lrs[self._slide_index()])
        diverged_at = self.divergence_lr()
        if math.isfinite(diverged_at):
            return float(
                min(
                    diverged_at / _DIVERGENCE_BACKOFF, self.lrs[minimum] / _EXPLODED_MINIMUM_BACKOFF
                )
            )
        return float(self.lrs[minimum] / _MINIMUM_BACKOFF)

    def _steepest_index(self, minimum: int) -> int:
        upto = max(minimum, 1) + 1
        slopes = np.gradient(self.smoothed_losses[:upto], np.log(self.lrs[:upto]))
        return int(np.argmin(slopes))

    def _valley_index(self) -> int:
        # longest[i]: length of the longest strictly decreasing subsequence ending at i,
        # by patience sorting on the negated values: tails[k] is the smallest negated end
        # of an increasing run of length k + 1 so far, so a bisection finds longest[i].
        tails: list[float] = []
        longest = np.empty(self.smoothed_losses.size, dtype=np.int64)
        for i, value in enumerate((-self.smoothed_losses).tolist()):
            length = bisect.bisect_left(tails, value)
            if length == len(tails):
                tails.append(value)
            else:
                tails[length] = value
            longest[i] = length + 1
        end = int(np.argmax(longest))
        start = end - int(longest[end]) + 1
        return start + (end - start) // 2

    def _slide_index(self) -> int:
        """fastai's interval slide rule, read up to the first blow-up.

        From the right end, a window of ``_SLIDE_WINDOW`` of the ramp slides left while
        the slopes at its two ends differ by more than ``_SLIDE_THRESHOLD``; the answer
        is the left end of the last window that still did (the leftmost point when every
        window did).
        """
        values = self.smoothed_losses[: self._read_end]
        size = values.size
        window = min(max(1, round(_SLIDE_WINDOW * self.num_steps)), size - 1)
        minimum = int(np.argmin(values))
        drop = float(values[: minimum + 1].max() - values[minimum])
        slopes = np.gradient(values) * (self.num_steps / 100.0) / (drop if drop > 0 else 1.0)
        right = np.arange(size - 1, window - 1, -1)
        flat = np.flatnonzero(np.abs(slopes[right] - slopes[right - window]) <= _SLIDE_THRESHOLD)
        if flat.size == 0:
            return 0
        return size - 1 - window - max(int(flat[0]) - 1, 0)

    def plot(self, ax=None, *, method: str = "divergence", skip_start: int = 0, skip_end: int = 0):
        """Plot loss against LR (log axis) with the suggestion marked; returns the Axes.

        The raw loss is drawn faint under the smoothed curve; the y axis is clipped so the
        exploding tail does not flatten the rest of the curve.

        Args:
            ax: a matplotlib Axes to draw on; a new figure's Axes when None.
            method: the suggestion method to mark (see ``suggest``).
            skip_start: points left out at the start of the plot and of the suggestion
                marked, as in ``suggest``.
            skip_end: points left out at the end, likewise.

        Returns:
            The matplotlib Axes.

        Raises:
            ImportError: matplotlib is not installed (``pip install "lrsched-numpy[plot]"``).

        >>> import matplotlib; matplotlib.use("Agg")
        >>> import numpy as np, lrsched
        >>> lrs = np.geomspace(1e-4, 1.0, 41)
        >>> losses = 1.0 / (1.0 + lrs * 100.0) + np.where(lrs > 0.3, (lrs - 0.3) * 50, 0.0)
        >>> ax = lrsched.RangeTestResult(lrs, losses).plot()
        >>> ax.get_xscale()
        'log'
        """
        from lrsched._plot import _require_matplotlib, new_axes

        _require_matplotlib("RangeTestResult.plot()")
        check.choice("plot", "method", method, _METHODS)
        curve = self._trimmed("plot", skip_start, skip_end)
        suggestion = curve._suggest(method)
        if ax is None:
            ax = new_axes((6.4, 4.0), "RangeTestResult.plot()")
        (raw_line,) = ax.plot(curve.lrs, curve.losses, alpha=0.3, linewidth=1.0, label="loss (raw)")
        ax.plot(
            curve.lrs,
            curve.smoothed_losses,
            color=raw_line.get_color(),
            linewidth=2.0,
            label="loss (smoothed)",
        )
        ax.set_xscale("log")
        smoothed = curve.smoothed_losses
        minimum = curve._minimum_index()
        # From the lowest smoothed loss to the highest before the minimum that is read:
        # the exploding tail leaves the frame instead of flattening the curve.
        low, high = float(smoothed.min()), float(smoothed[: minimum + 1].max())
        margin = 0.1 * (high - low) if high > low else 1.0
        ax.set_ylim(low - margin, high + margin)
        marked = float(np.interp(math.log(suggestion), np.log(curve.lrs), smoothed))
        ax.axvline(suggestion, color="tab:red", linestyle="--", linewidth=1.0)
        ax.plot(
            [suggestion],
            [marked],
            "o",
            color="tab:red",
            label=f"suggested lr = {suggestion:.2g} ({method})",
        )
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend(loc="best")
        return ax


def range_test(
    train_step: Callable[[float], Any],
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    *,
    mode: str = "exp",
    smoothing: float = 0.8,
    diverge_factor: float | None = 4.0,
) -> RangeTestResult:
    r"""Run the LR range test: raise the LR every step, record the loss, stop on divergence.

    Step ``i`` calls ``train_step(lr_i)`` once, with

    .. math:: \eta_i = \text{start}\,(\text{end}/\text{start})^{i/(n-1)}
              \quad\text{(mode "exp", } \texttt{exponential\_ramp}\text{)}, \qquad
              \eta_i = \text{start} + (\text{end}-\text{start})\,\frac{i}{n-1}
              \quad\text{(mode "linear")}.

    ``train_step`` applies one optimizer update with that LR and returns the loss of the
    batch it trained on (computed before the update, as every training loop reports it).
    A running smoothed loss :math:`s_i` (bias-corrected EMA with weight ``smoothing``)
    stops the test once it has given back more than :math:`1 - 1/f` of its drop
    (75% for ``diverge_factor`` f = 4): :math:`s_i - b > (1 - 1/f)(h - b)`, with
    :math:`b` the best :math:`s` so far and :math:`h` the highest :math:`s` before it. For
    a loss falling from 1 to 0.2 that is fastai's "4 times the best" (0.8); unlike that
    rule it does not depend on the loss's offset or units, so negative losses work and
    ``a * loss + b`` runs exactly the same steps. The rise must also exceed 4 noise sigmas
    of the raw loss (from its step-to-step differences), and the stop is not armed during
    the first tenth of the ramp.
    Two more steps are recorded after the stop, to measure how fast the loss explodes.
    A NaN or infinite loss stops the test at once and is not recorded.

    Args:
        train_step: ``train_step(lr) -> loss``; the loss may be any real scalar (float,
            numpy or torch scalar).
        start_lr: first LR, > 0.
        end_lr: last LR, > start_lr.
        num_steps: number of steps in the ramp (>= 3), ``total_steps = num_steps - 1``.
        mode: ``"exp"`` (geometric ramp, the usual choice) or ``"linear"``.
        smoothing: EMA weight of the running smoothed loss used by the stop, in [0, 1).
        diverge_factor: stop threshold factor (> 1, see above), or None to run the whole
            ramp.

    Returns:
        A ``RangeTestResult``: ``.lrs``, ``.losses``, ``.smoothed_losses``,
        ``.stop_reason``, ``.suggest(method)``, ``.plot(ax)``.

    Raises:
        ValueError: bad arguments.
        TypeError: arguments of the wrong type, or ``train_step`` returned something that
            is not a real number. Exceptions from ``train_step`` itself propagate.

    fastai ``Learner.lr_find``; torch-lr-finder ``LRFinder.range_test``. Framework drivers:
    ``lrsched.adapters.torch.range_test`` and ``lrsched.adapters.keras.range_test``; inside
    Keras's ``model.fit``: ``lrsched.adapters.keras.RangeTestCallback``.

    >>> import lrsched
    >>> w = [1.0]
    >>> def train_step(lr):  # gradient descent on f(w) = 5 w**2: diverges for lr > 0.2
    ...     loss = 5 * w[0] ** 2
    ...     w[0] -= lr * 10 * w[0]
    ...     return loss
    >>> result = lrsched.range_test(train_step, start_lr=1e-4, end_lr=10.0, num_steps=60)
    >>> result.stop_reason
    'diverged'
    >>> bool(0.02 < result.suggest() < 0.2)
    True
    """
    if not callable(train_step):
        check.fail(
            "range_test", "train_step", "a callable train_step(lr) -> loss", train_step, TypeError
        )
    ramp = _Ramp(
        "range_test",
        start_lr,
        end_lr,
        num_steps,
        mode=mode,
        smoothing=smoothing,
        diverge_factor=diverge_factor,
    )
    while not ramp.done:
        ramp.record(_as_loss(train_step(ramp.lr)))
    return ramp.result()


class _Ramp:
    """One run of the range test as a state machine: the next LR, record a loss, stop.

    ``range_test`` drives it from a loop; Keras's ``RangeTestCallback`` from ``fit``'s
    batch callbacks. ``lr`` is the LR of the next step; ``record(loss)`` takes that
    step's loss; ``done`` says the test is over; ``result()`` builds the result.
    """

    def __init__(
        self,
        func: str,
        start_lr: Any,
        end_lr: Any,
        num_steps: Any,
        *,
        mode: Any,
        smoothing: Any,
        diverge_factor: Any,
    ):
        start_lr = check.positive(func, "start_lr", start_lr)
        end_lr = check.positive(func, "end_lr", end_lr)
        if end_lr <= start_lr:
            check.fail(func, "end_lr", f"greater than start_lr={start_lr!r}", end_lr)
        num_steps = check.integer(func, "num_steps", num_steps, minimum=3)
        mode = check.choice(func, "mode", mode, _MODES)
        smoothing = check.in_range(func, "smoothing", smoothing, 0.0, 1.0, high_open=True)
        if diverge_factor is not None:
            diverge_factor = check.real(func, "diverge_factor", diverge_factor)
            if diverge_factor <= 1.0:
                check.fail(func, "diverge_factor", "a number > 1 or None", diverge_factor)
        ramp = (
            exponential_ramp(start_lr, end_lr, total_steps=num_steps - 1)
            if mode == "exp"
            else linear(start_lr, end_lr, total_steps=num_steps - 1)
        )
        self.func = func
        self.planned = np.asarray(ramp(np.arange(num_steps)))
        self.num_steps = num_steps
        self.smoothing = smoothing
        self.diverge_factor = diverge_factor
        self.losses: list[float] = []
        self.stop_reason = "completed"
        self.done = False
        # best: lowest smoothed loss so far; peak: highest smoothed loss before the best.
        self._average, self._best, self._highest, self._peak = 0.0, math.inf, -math.inf, -math.inf
        self._last_step = num_steps - 1
        # The first tenth of the ramp only sets the loss's range; noise there is no
        # divergence.
        self._first_stop_step = max(2, num_steps // 10)
        self._step_sizes = _RunningMedian()

    @property
    def lr(self) -> float:
        """The LR of the next step."""
        return float(self.planned[len(self.losses)])

    def record(self, loss: float) -> None:
        """Take the loss of the step run at ``lr``."""
        step = len(self.losses)
        if not math.isfinite(loss):
            self.stop_reason, self.done = "non-finite", True
            return
        if self.losses:
            self._step_sizes.add(abs(loss - self.losses[-1]))
        self.losses.append(loss)
        if step == self._last_step:
            self.done = True
            return
        smoothing = self.smoothing
        self._average = smoothing * self._average + (1.0 - smoothing) * loss
        smoothed = self._average / (1.0 - smoothing ** (step + 1))
        self._highest = max(self._highest, smoothed)
        best, peak = self._best, self._peak
        if smoothed <= best:
            self._best, self._peak = smoothed, self._highest
        elif (
            self.diverge_factor is not None
            and self.stop_reason == "completed"
            and step >= self._first_stop_step
            and smoothed - best > (1.0 - 1.0 / self.diverge_factor) * (peak - best)
            and smoothed - best > _NOISE_SIGMAS * (self._step_sizes.median() / 0.954)
            # A drop at float-rounding level (a constant loss) is no drop at all.
            and peak - best > 1e-9 * max(abs(peak), abs(best))
        ):
            self.stop_reason = "diverged"
            self._last_step = min(self._last_step, step + _STEPS_AFTER_STOP)

    def result(self, stop_reason: str | None = None) -> RangeTestResult:
        """The recorded curve; ``stop_reason`` overrides the recorded one."""
        count = len(self.losses)
        if count < 3:
            raise check.ArgumentError(
                f"{self.func}(): the loss diverged after {count} step(s) (stop: "
                f"{stop_reason or self.stop_reason}, last LR {self.planned[count]:.3g}); "
                "lower start_lr"
            )
        return RangeTestResult(
            self.planned[:count],
            self.losses,
            stop_reason=stop_reason or self.stop_reason,
            num_steps=self.num_steps,
        )


class _RunningMedian:
    """The exact median of a growing collection in O(log n) per value (two heaps).

    The median of an even count is the mean of the middle two, as ``np.median`` takes it.
    """

    def __init__(self):
        self._low: list[float] = []  # the smaller half, negated (heapq is a min-heap)
        self._high: list[float] = []

    def add(self, value: float) -> None:
        if self._low and value > -self._low[0]:
            heapq.heappush(self._high, value)
        else:
            heapq.heappush(self._low, -value)
        if len(self._low) > len(self._high) + 1:
            heapq.heappush(self._high, -heapq.heappop(self._low))
        elif len(self._high) > len(self._low):
            heapq.heappush(self._low, -heapq.heappop(self._high))

    def median(self) -> float:
        if len(self._low) > len(self._high):
            return -self._low[0]
        return (-self._low[0] + self._high[0]) / 2


def _as_loss(value: Any) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    # numpy, torch, jax scalars and one-element arrays all have .item().
    if (hasattr(value, "item") and getattr(value, "size", 1) in (1, None)) or (
        callable(getattr(value, "numel", None)) and value.numel() == 1
    ):
        item = value.item()
        if isinstance(item, numbers.Real) and not isinstance(item, bool):
            return float(item)
    raise check.ArgumentTypeError(
        f"range_test(): train_step must return a real scalar loss, got {value!r}"
    )
