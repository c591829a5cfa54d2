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

import itertools
import math
import numbers
import warnings
from typing import Any, Callable, Iterable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lrsched import _validation as check
from lrsched._basic import exponential_ramp, linear

_MODES = ("exp", "linear")
_METHODS = ("divergence", "minimum", "steep", "valley")
_STOP_REASONS = ("completed", "diverged", "non-finite")

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


def _smoothing_half_width(num_steps: int) -> int:
    return max(1, round(num_steps / 50))


def _running_median(values: np.ndarray, half_width: int) -> np.ndarray:
    """Centred running median; near the ends the window shrinks symmetrically.

    A window that shrank on one side only would lag at the end of the curve, exactly
    where the explosion is, and drag the minimum onto the last point.
    """
    size = values.size
    half_width = min(half_width, (size - 1) // 2)
    smoothed = values.copy()
    if half_width == 0:
        return smoothed
    windows = sliding_window_view(values, 2 * half_width + 1)
    smoothed[half_width: size - half_width] = np.median(windows, axis=1)
    for edge in range(1, half_width):
        smoothed[edge] = np.median(values[: 2 * edge + 1])
        smoothed[size - 1 - edge] = np.median(values[size - 1 - 2 * edge:])
    return smoothed


class RangeTestResult:
    """What an LR range test recorded, with suggestions and a plot.

    Attributes:
        lrs: the LR used at each recorded step (float64 array).
        losses: the raw loss returned at each recorded step; a NaN/inf loss ends the test
            and is not recorded.
        smoothed_losses: a centred running median of ``losses`` over about 2% of the
            planned steps either side (the curve suggestions and the plot use; no lag).
        stop_reason: ``"completed"`` (reached ``end_lr``), ``"diverged"`` (the running
            smoothed loss exceeded the divergence threshold) or ``"non-finite"``.
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

    __slots__ = ("lrs", "losses", "smoothed_losses", "stop_reason", "num_steps", "_read_end")

    def __init__(self, lrs: Any, losses: Any, *, stop_reason: str = "completed",
                 num_steps: int | None = None):
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
            check.fail(func, "losses", "finite (drop NaN/inf steps before building a result)",
                       losses)
        self.lrs = lrs
        self.losses = losses
        self.stop_reason = check.choice(func, "stop_reason", stop_reason, _STOP_REASONS)
        self.num_steps = (lrs.size if num_steps is None
                          else check.integer(func, "num_steps", num_steps, minimum=lrs.size))
        self.smoothed_losses = _running_median(losses, _smoothing_half_width(self.num_steps))
        for name in ("lrs", "losses", "smoothed_losses"):
            getattr(self, name).flags.writeable = False
        self._read_end = self._first_rise_end()

    def __repr__(self) -> str:
        return (f"RangeTestResult(steps={self.lrs.size}, lr=[{self.lrs[0]:.3g}, "
                f"{self.lrs[-1]:.3g}], stop_reason={self.stop_reason!r})")

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
            np.where(smoothed == best_so_far, np.arange(smoothed.size), 0))
        drop = peak_so_far[best_index] - best_so_far
        # Noise measured on the steps so far: loss noise often shrinks with the loss.
        noise = _NOISE_SIGMAS * np.array(
            [_step_noise(self.losses[: max(index, 2) + 1]) for index in range(smoothed.size)])
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
        growing = [j for j in range(minimum, self._read_end - 1)
                   if rise[j] > threshold and rise[j + 1] > rise[j]]
        if not growing:
            return math.inf
        # The pair deepest into the explosion: there the fastest-growing (stiffest) mode
        # dominates the rise most, so its growth rate is the least diluted by the others.
        j = max(growing, key=lambda index: rise[index])
        curvature = (1.0 + math.sqrt(rise[j + 1] / rise[j])) / self.lrs[j]
        return 2.0 / curvature

    def suggest(self, method: str = "divergence") -> float:
        r"""Suggest an initial (constant or peak) learning rate from the recorded curve.

        The methods (``method=``):

            ``"divergence"`` (default): :math:`\min(\text{divergence\_lr}() / 2,\;
            \eta_{\min s} / 2.5)` when the curve recorded a growing rise after its
            minimum, else :math:`\eta_{\min s} / 10`, where :math:`\eta_{\min s}` is the
            LR at the minimum of ``smoothed_losses``. Validated on gradient descent over quadratics
            (condition numbers 10 to 10^4, with and without gradient noise, any ramp speed):
            below 2/L, cuts the loss 100x in 300 constant-LR steps, within 30x of the best
            constant LR (see docs/range-test.md for the figures).
            ``"minimum"``: fastai's ``minimum``, the LR at the smoothed minimum divided by 10.
            ``"steep"``: fastai's ``steep``, the LR where the smoothed loss falls fastest
            per unit of log LR (before the minimum). Noisy, and it moves with ramp speed.
            ``"valley"``: fastai's ``valley``: the middle of the longest decreasing
            subsequence of the smoothed loss.

        Args:
            method: one of ``"divergence"``, ``"minimum"``, ``"steep"``, ``"valley"``.

        Returns:
            A learning rate (Python float) within the recorded LR range (``minimum`` and
            ``divergence`` may go below it).

        Raises:
            ValueError: unknown method.

        >>> import numpy as np, lrsched
        >>> lrs = np.geomspace(1e-3, 10.0, 50)
        >>> w, losses = 1.0, []
        >>> for lr in lrs:  # f(w) = 2 w**2 diverges for lr > 0.5
        ...     losses.append(2 * w * w)
        ...     w -= lr * 4 * w
        >>> result = lrsched.RangeTestResult(lrs[:len(losses)], losses)
        >>> bool(0.02 < result.suggest() < 0.5)
        True
        """
        check.choice("suggest", "method", method, _METHODS)
        minimum = self._minimum_index()
        if minimum == self.lrs.size - 1 and self.stop_reason == "completed":
            warnings.warn(
                f"range_test: the smoothed loss was still falling at the last LR "
                f"({self.lrs[-1]:.3g}); raise end_lr for a trustworthy suggestion",
                UserWarning, stacklevel=2)
        if method == "minimum":
            return float(self.lrs[minimum] / _MINIMUM_BACKOFF)
        if method == "steep":
            return float(self.lrs[self._steepest_index(minimum)])
        if method == "valley":
            return float(self.lrs[self._valley_index()])
        diverged_at = self.divergence_lr()
        if math.isfinite(diverged_at):
            return float(min(diverged_at / _DIVERGENCE_BACKOFF,
                             self.lrs[minimum] / _EXPLODED_MINIMUM_BACKOFF))
        return float(self.lrs[minimum] / _MINIMUM_BACKOFF)

    def _steepest_index(self, minimum: int) -> int:
        upto = max(minimum, 1) + 1
        slopes = np.gradient(self.smoothed_losses[:upto], np.log(self.lrs[:upto]))
        return int(np.argmin(slopes))

    def _valley_index(self) -> int:
        values = self.smoothed_losses
        # longest[i]: length of the longest strictly decreasing subsequence ending at i.
        longest = np.ones(values.size, dtype=np.int64)
        for i in range(1, values.size):
            earlier = values[:i] > values[i]
            if earlier.any():
                longest[i] = longest[:i][earlier].max() + 1
        end = int(np.argmax(longest))
        start = end - int(longest[end]) + 1
        return start + (end - start) // 2

    def plot(self, ax=None, *, method: str = "divergence"):
        """Plot loss against LR (log axis) with the suggestion marked; returns the Axes.

        The raw loss is drawn faint under the smoothed curve; the y axis is clipped so the
        exploding tail does not flatten the rest of the curve.

        Args:
            ax: a matplotlib Axes to draw on; a new figure's Axes when None.
            method: the suggestion method to mark (see ``suggest``).

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
        suggestion = self.suggest(method)
        if ax is None:
            ax = new_axes((6.4, 4.0), "RangeTestResult.plot()")
        raw_line, = ax.plot(self.lrs, self.losses, alpha=0.3, linewidth=1.0,
                            label="loss (raw)")
        ax.plot(self.lrs, self.smoothed_losses, color=raw_line.get_color(), linewidth=2.0,
                label="loss (smoothed)")
        ax.set_xscale("log")
        smoothed = self.smoothed_losses
        minimum = self._minimum_index()
        # From the lowest smoothed loss to the highest before the minimum that is read:
        # the exploding tail leaves the frame instead of flattening the curve.
        low, high = float(smoothed.min()), float(smoothed[: minimum + 1].max())
        margin = 0.1 * (high - low) if high > low else 1.0
        ax.set_ylim(low - margin, high + margin)
        marked = float(np.interp(math.log(suggestion), np.log(self.lrs), smoothed))
        ax.axvline(suggestion, color="tab:red", linestyle="--", linewidth=1.0)
        ax.plot([suggestion], [marked], "o", color="tab:red",
                label=f"suggested lr = {suggestion:.2g} ({method})")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend(loc="best")
        return ax


def range_test(train_step: Callable[[float], Any], start_lr: float = 1e-7,
               end_lr: float = 10.0, num_steps: int = 100, *, mode: str = "exp",
               smoothing: float = 0.8, diverge_factor: float | None = 4.0
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
    ``lrsched.adapters.torch.range_test`` and ``lrsched.adapters.keras.range_test``.

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
    func = "range_test"
    if not callable(train_step):
        check.fail(func, "train_step", "a callable train_step(lr) -> loss", train_step,
                   TypeError)
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

    ramp = (exponential_ramp(start_lr, end_lr, total_steps=num_steps - 1) if mode == "exp"
            else linear(start_lr, end_lr, total_steps=num_steps - 1))
    planned = ramp(np.arange(num_steps))
    losses: list[float] = []
    stop_reason = "completed"
    # best: lowest smoothed loss so far; peak: highest smoothed loss before the best.
    average, best, highest, peak = 0.0, math.inf, -math.inf, -math.inf
    last_step = num_steps - 1
    # The first tenth of the ramp only sets the loss's range; noise there is no divergence.
    first_stop_step = max(2, num_steps // 10)
    for step, lr in enumerate(planned):
        loss = _as_loss(train_step(float(lr)))
        if not math.isfinite(loss):
            stop_reason = "non-finite"
            break
        losses.append(loss)
        if step == last_step:
            break
        average = smoothing * average + (1.0 - smoothing) * loss
        smoothed = average / (1.0 - smoothing ** (step + 1))
        highest = max(highest, smoothed)
        if smoothed <= best:
            best, peak = smoothed, highest
        elif (diverge_factor is not None and stop_reason == "completed"
                and step >= first_stop_step
                and smoothed - best > (1.0 - 1.0 / diverge_factor) * (peak - best)
                and smoothed - best > _NOISE_SIGMAS * _step_noise(losses)
                # A drop at float-rounding level (a constant loss) is no drop at all.
                and peak - best > 1e-9 * max(abs(peak), abs(best))):
            stop_reason = "diverged"
            last_step = min(last_step, step + _STEPS_AFTER_STOP)
    if len(losses) < 3:
        raise ValueError(
            f"range_test(): the loss diverged after {len(losses)} step(s) (stop: {stop_reason}"
            f", last LR {planned[len(losses)]:.3g}); lower start_lr")
    return RangeTestResult(planned[: len(losses)], losses, stop_reason=stop_reason,
                           num_steps=num_steps)


def repeat_batches(batches: Iterable, name: str):
    """Yield from ``batches`` again and again (a list, a DataLoader, a tf.data dataset).

    Shared by the framework drivers; ``name`` is the argument named in the errors.
    """
    for epoch in itertools.count():
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError(
                f"range_test(): {name} yielded no batches" if epoch == 0 else
                f"range_test(): {name} ran out (pass a re-iterable such as a list or a "
                "DataLoader, not a one-shot iterator)")


def _step_noise(losses: list[float]) -> float:
    """Robust noise sigma of the raw losses from their step-to-step differences.

    For i.i.d. Gaussian noise the median of |l[i+1] - l[i]| is 0.954 sigma; a trend only
    makes the estimate larger, which delays the stop rather than firing it early.
    """
    return float(np.median(np.abs(np.diff(losses)))) / 0.954


def _as_loss(value: Any) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    # numpy, torch, jax scalars and one-element arrays all have .item().
    if hasattr(value, "item") and getattr(value, "size", 1) in (1, None) or (
            callable(getattr(value, "numel", None)) and value.numel() == 1):
        item = value.item()
        if isinstance(item, numbers.Real) and not isinstance(item, bool):
            return float(item)
    raise TypeError(f"range_test(): train_step must return a real scalar loss, got {value!r}")
