"""RangeTestResult's O(n log n) internals give bit for bit what their definitions give.

Each reference below is the definition written the direct way (a median per window, the
noise of every prefix recomputed from scratch, the longest decreasing subsequence by the
quadratic recurrence): slow, obviously right, and the form the results had before the
curve's costs were made to grow linearly.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched import _range_test as core


def reference_running_median(values, half_width):
    size = values.size
    half_width = min(half_width, (size - 1) // 2)
    smoothed = values.copy()
    for i in range(1, size - 1):
        h = min(half_width, i, size - 1 - i)
        smoothed[i] = np.median(values[i - h : i + h + 1])
    return smoothed


def reference_prefix_noise(losses):
    return np.array(
        [
            float(np.median(np.abs(np.diff(losses[: max(i, 2) + 1])))) / 0.954
            for i in range(losses.size)
        ]
    )


def reference_valley(values):
    longest = np.ones(values.size, dtype=np.int64)
    for i in range(1, values.size):
        earlier = values[:i] > values[i]
        if earlier.any():
            longest[i] = longest[:i][earlier].max() + 1
    end = int(np.argmax(longest))
    start = end - int(longest[end]) + 1
    return start + (end - start) // 2


def reference_slide(lrs, slopes, window, threshold):
    """fastai's loop: slide left from the end while the window's end slopes differ."""
    right, left = -1, -1 - window
    found = lrs[left]
    while left >= -len(slopes) and abs(slopes[right] - slopes[left]) > threshold:
        found = lrs[left]
        right -= 1
        left -= 1
    return float(found)


def same_bits(got, expected):
    """Equal bit for bit, except that a zero's sign may differ (np.median's pick among
    tied values depends on its partition; -0.0 == 0.0 is such a tie)."""
    return (np.asarray(got) + 0.0).tobytes() == (np.asarray(expected) + 0.0).tobytes()


def curves():
    """Curves with ties (rounded losses), plateaus, spikes and long runs."""
    rng = np.random.default_rng(0)
    for size in (3, 4, 5, 7, 50, 101, 400):
        for kind in range(4):
            x = np.linspace(0.0, 1.0, size)
            losses = 1.0 / (1.0 + np.exp(10 * (x - 0.5))) + np.exp(20 * (x - 0.9))
            losses = losses + (0.05 * kind) * rng.standard_normal(size)
            if kind == 3:
                losses = np.round(losses, 1)  # many exact ties
            yield np.geomspace(1e-5, 1.0, size), losses


@pytest.mark.parametrize("half_width", [1, 2, 3, 8, 40])
def test_running_median_matches_a_median_per_window(half_width):
    for _, losses in curves():
        expected = reference_running_median(losses, half_width)
        got = core._running_median(losses, half_width)
        assert same_bits(got, expected)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=60), st.integers(1, 30))
@settings(max_examples=200)
def test_running_median_on_arbitrary_values(values, half_width):
    values = np.array(values)
    expected = reference_running_median(values, half_width)
    assert same_bits(core._running_median(values, half_width), expected)


@given(
    st.lists(
        st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: round(v, 1)), min_size=3, max_size=60
    )
)
@settings(max_examples=200)
def test_prefix_noise_and_valley_on_arbitrary_values(values):
    values = np.array(values)
    expected = reference_prefix_noise(values)
    assert same_bits(core._prefix_step_noise(values), expected)
    result = lrsched.RangeTestResult(np.geomspace(1e-4, 1.0, values.size), values)
    assert result._valley_index() == reference_valley(result.smoothed_losses)


def test_every_suggestion_matches_the_definitions():
    for lrs, losses in curves():
        result = lrsched.RangeTestResult(lrs, losses)
        assert result._valley_index() == reference_valley(result.smoothed_losses)
        noise = 4.0 * reference_prefix_noise(losses)
        assert same_bits(4.0 * core._prefix_step_noise(losses), noise)
        values = result.smoothed_losses[: result._read_end]
        minimum = int(np.argmin(values))
        drop = float(values[: minimum + 1].max() - values[minimum]) or 1.0
        window = min(max(1, round(0.15 * result.num_steps)), values.size - 1)
        # Slopes per 1% of the ramp, in units of the curve's drop.
        slopes = np.gradient(values) * (result.num_steps / 100.0) / drop
        expected = reference_slide(result.lrs[: values.size], slopes, window, 0.005)
        assert result.suggest("slide") == expected


def test_a_long_curve_is_read_without_quadratic_memory_or_loops():
    # 200k points: a median per window of 8001 would need 13 GB for the windows alone.
    size = 200_000
    x = np.linspace(0.0, 1.0, size)
    losses = 1.0 / (1.0 + np.exp(10 * (x - 0.5))) + np.exp(np.minimum(30 * (x - 0.9), 30))
    result = lrsched.RangeTestResult(np.geomspace(1e-7, 10.0, size), losses)
    for method in ("divergence", "minimum", "steep", "valley", "slide"):
        assert math.isfinite(result.suggest(method))
