"""The core's fast paths give the same bits as the plain formulas they replace.

Large arrays go through ``Schedule.__call__`` block by block, sorted steps take per-piece
slices, ``floor_divmod`` stands in for numpy's floor_divide and fmod, and whole-exponent
powers come from a table. None of that may change a single value: each test compares the
fast path with the reference computation on the same steps, bit for bit.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import lrsched
from lrsched._base import BLOCK, floor_divmod, pieces

RNG = np.random.default_rng(20261121)


def _bits(values):
    return np.asarray(values, dtype=np.float64).view(np.int64)


def _steps_for_divmod():
    whole = np.arange(0.0, 5000.0)
    fractional = RNG.uniform(0, 5000, 5000)
    edges = np.nextafter(np.arange(7.0, 5000.0, 7.0), 0.0)  # just below multiples of 7
    large = np.array([2.0**52 - 8, 2.0**52 - 1, 2.0**52, 2.0**53, 1e17, 1e300])
    return np.concatenate([whole, fractional, edges, large])


@pytest.mark.parametrize("divisor", [1, 3, 7, 2000, 2**40, 0.1, 2.5])
def test_floor_divmod_is_numpys_floor_divide_and_fmod(divisor):
    t = _steps_for_divmod()
    quotient, remainder = floor_divmod(t, divisor)
    assert np.array_equal(_bits(quotient), _bits(np.floor_divide(t, divisor)))
    assert np.array_equal(_bits(remainder), _bits(np.fmod(t, divisor)))
    alone, nothing = floor_divmod(t, divisor, remainder=False)
    assert nothing is None
    assert np.array_equal(_bits(alone), _bits(np.floor_divide(t, divisor)))


SCHEDULES = [
    lrsched.step(0.1, step_size=700, gamma=0.5),
    lrsched.step(0.1, step_size=1, gamma=0.999),
    lrsched.multistep(0.1, list(range(0, 60000, 997)), gamma=0.9),
    lrsched.cosine(0.1, 50000),
    lrsched.warm_restarts(0.1, period=300, period_mult=2, decay=0.8),
    lrsched.warm_restarts(0.1, period=1000, min_lr=0.01),
    lrsched.cyclic(0.01, 0.1, step_size_up=300, step_size_down=100),
    lrsched.cyclic(0.01, 0.1, step_size_up=300, mode="triangular2"),
    lrsched.one_cycle(0.1, 50000),
    lrsched.one_cycle(0.1, 50000, three_phase=True, anneal="linear").momentum(),
    lrsched.warmup(lrsched.cosine(0.1, 40000), steps=5000, mode="cosine"),
    lrsched.wsd(0.1, warmup_steps=500, stable_steps=30000, decay_steps=20000,
                decay_shape="1-sqrt"),
    lrsched.sequence([lrsched.constant(0.1), lrsched.linear(0.1, 0.0, 9000),
                      lrsched.exponential(0.1, 0.5, 1000)], [20000, 29000]),
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=repr)
def test_blocks_sorted_and_shuffled_steps_give_the_scalar_values(schedule):
    steps = np.arange(0.0, 2 * BLOCK + 1234.0) * 0.75  # more than two blocks, fractional
    whole = schedule(steps)
    assert whole.shape == steps.shape
    # Scalars never take a fast path: they are the reference, one step at a time.
    picked = np.concatenate([np.arange(0, steps.size, 97), [steps.size - 1]])
    scalars = [schedule(float(steps[i])) for i in picked]
    assert np.array_equal(_bits(whole[picked]), _bits(scalars))
    # Unsorted and 2-d steps take the mask paths; the values must not change.
    order = RNG.permutation(steps.size)
    assert np.array_equal(_bits(schedule(steps[order])), _bits(whole[order]))
    grid = steps[: (steps.size // 16) * 16].reshape(16, -1)
    assert np.array_equal(_bits(schedule(grid)), _bits(whole[: grid.size]).reshape(16, -1))
    # Integer input is converted block by block.
    integers = np.arange(2 * BLOCK + 10)
    assert np.array_equal(_bits(schedule(integers)), _bits(schedule(integers.astype(float))))


def test_pieces_number_steps_as_searchsorted_does():
    edges = [3.0, 3.0, 7.5, 20.0]
    for side in ("left", "right"):
        sorted_steps = np.sort(RNG.uniform(0, 25, 400).round(1))
        for t in (sorted_steps, RNG.permutation(sorted_steps)):
            expected = np.searchsorted(edges, t, side=side)
            got = np.full(t.shape, -1)
            for piece, where in pieces(t, edges, side=side):
                assert np.all(got[where] == -1)
                got[where] = piece
            assert np.array_equal(got, expected)


def test_multiplicative_is_evaluated_whole_not_per_block():
    schedule = lrsched.multiplicative(1.0, lambda k: 0.99999)
    steps = np.arange(3 * BLOCK)
    values = schedule(steps)
    assert values[-1] == pytest.approx(0.99999 ** (3 * BLOCK - 1), rel=1e-12)
    assert np.array_equal(_bits(values[[0, BLOCK, 3 * BLOCK - 1]]),
                          _bits([schedule(0), schedule(BLOCK), schedule(3 * BLOCK - 1)]))


@pytest.fixture
def traced_memory():
    """tracemalloc, running for the test only (numpy reports its buffers to it)."""
    tracemalloc.start()
    yield tracemalloc
    tracemalloc.stop()


@pytest.mark.parametrize("schedule", SCHEDULES[:: 3], ids=repr)
def test_peak_memory_stays_near_the_output_array(schedule, traced_memory):
    steps = np.arange(10**6)  # int64: the float64 conversion is part of the cost
    traced_memory.reset_peak()
    already, _ = traced_memory.get_traced_memory()  # the steps themselves
    schedule(steps)
    assert traced_memory.get_traced_memory()[1] - already <= 3 * 8 * steps.size
