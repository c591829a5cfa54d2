"""The evaluator and the numpy namespace give the same bits whichever way steps arrive.

Large arrays go block by block, sorted steps take per-piece slices, whole scalar steps
are read from a table, ``floor_divmod`` stands in for numpy's floor_divide and fmod, and
whole-exponent powers come from a table. None of that may change a single value: each
test compares one way with another on the same steps, bit for bit.
"""

from __future__ import annotations

import copy
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrsched
from lrsched._evaluate import BLOCK, StepTable
from lrsched._ops import NUMPY
from lrsched.testing import strategies as lst

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
    quotient, remainder = NUMPY.floor_divmod(t, divisor)
    assert np.array_equal(_bits(quotient), _bits(np.floor_divide(t, divisor)))
    assert np.array_equal(_bits(remainder), _bits(np.fmod(t, divisor)))


@pytest.mark.parametrize("base", [0.5, 0.999, 1.0001, 3.0])
def test_integer_powers_are_numpys_power(base):
    huge = np.array([2.0**53, 2.0**53, 2.0**53 + 2.0, 1e16])  # not every whole float from 2**53
    for exponent in (
        np.arange(50.0),
        RNG.integers(0, 3000, 1000).astype(float),
        np.array([7.0]),
        huge[:2],
        huge,
    ):
        with np.errstate(over="ignore"):
            assert np.array_equal(
                _bits(NUMPY.integer_powers(0.1, base, exponent)),
                _bits(np.power(base, exponent) * 0.1),
            )


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
    lrsched.wsd(0.1, warmup_steps=500, stable_steps=30000, decay_steps=20000, decay_shape="1-sqrt"),
    lrsched.sequence(
        [
            lrsched.constant(0.1),
            lrsched.linear(0.1, 0.0, 9000),
            lrsched.exponential(0.1, 0.5, decay_steps=1000),
        ],
        [20000, 29000],
    ),
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


def test_piecewise_numbers_steps_as_searchsorted_does():
    edges = [3.0, 3.0, 7.5, 20.0]
    for side in ("left", "right"):
        sorted_steps = np.sort(RNG.uniform(0, 25, 400).round(1))
        for t in (sorted_steps, RNG.permutation(sorted_steps), sorted_steps.reshape(20, 20)):
            expected = np.searchsorted(edges, t, side=side)
            seen = []

            def piece(index, steps, seen=seen):
                seen.append(steps.size)
                return np.full(steps.shape, float(index))

            got = NUMPY.piecewise(t, edges, side, piece)
            assert np.array_equal(got, expected) and sum(seen) == t.size


def test_multiplicative_gives_one_running_product_across_blocks():
    schedule = lrsched.multiplicative(1.0, lambda k: 0.99999)
    steps = np.arange(3 * BLOCK)
    values = schedule(steps)
    assert values[-1] == pytest.approx(0.99999 ** (3 * BLOCK - 1), rel=1e-12)
    assert np.array_equal(
        _bits(values[[0, BLOCK, 3 * BLOCK - 1]]),
        _bits([schedule(0), schedule(BLOCK), schedule(3 * BLOCK - 1)]),
    )


@pytest.fixture
def traced_memory():
    """tracemalloc, running for the test only (numpy reports its buffers to it)."""
    tracemalloc.start()
    yield tracemalloc
    tracemalloc.stop()


@pytest.mark.parametrize("schedule", SCHEDULES[::3], ids=repr)
def test_peak_memory_stays_near_the_output_array(schedule, traced_memory):
    steps = np.arange(10**6)  # int64: the float64 conversion is part of the cost
    traced_memory.reset_peak()
    already, _ = traced_memory.get_traced_memory()  # the steps themselves
    schedule(steps)
    assert traced_memory.get_traced_memory()[1] - already <= 3 * 8 * steps.size


# More families and composites, each through the same checks.
MORE = [
    lrsched.constant(0.1),
    lrsched.step(0.1, step_size=50000, gamma=0.5),
    lrsched.piecewise_constant([1000, 30000, 45000], [0.1, 0.05, 0.01, 0.001]),
    lrsched.exponential(0.1, 0.01, decay_steps=60000, staircase=True),
    lrsched.linear(0.1, 0.001, 40000),
    lrsched.polynomial(0.1, 40000, power=2.0),
    lrsched.polynomial(0.1, 40000, power=0.5, end_lr=0.01),
    lrsched.cosine(0.1, 40000, periodic=True),
    lrsched.warmup(lrsched.multistep(0.1, [20000, 20000, 40000]), steps=3000).shift(500),
    (lrsched.cosine(0.1, 40000) * lrsched.linear(1.0, 0.5, 30000)).clip(0.01, 0.08),
    lrsched.cosine(0.1, 400).per_epoch(100, staircase=True),
]


@pytest.mark.parametrize("schedule", MORE, ids=repr)
def test_more_schedules_give_the_scalar_values(schedule):
    test_blocks_sorted_and_shuffled_steps_give_the_scalar_values(schedule)


def test_the_first_bad_step_is_reported_before_a_formulas_error():
    schedule = lrsched.cosine(0.1, 1000)
    steps = np.arange(4 * BLOCK, dtype=np.float64)
    steps[[BLOCK + 5, 3 * BLOCK + 1]] = [np.nan, -2.0]
    with pytest.raises(
        lrsched.ArgumentError,
        match=rf"^cosine\(\): step must be .* got nan at index \({BLOCK + 5},\)",
    ):
        schedule(steps)
    # A bad step comes before an overflow further on, as if every step were checked first.
    growing = lrsched.exponential(1.0, 2.0, decay_steps=1.0)
    steps = np.arange(4 * BLOCK, dtype=np.float64)
    steps[BLOCK] = -1.0
    with pytest.raises(ValueError, match=rf"got -1.0 at index \({BLOCK},\)"):
        growing(steps)
    steps[BLOCK] = 1.0
    with pytest.raises(lrsched.ArgumentError, match=r"overflows float64 at step 1024.0"):
        growing(steps)


def test_every_value_is_checked_and_the_error_names_the_schedule_and_step():
    class Negative(lrsched.Schedule):
        def _values(self, t):
            return 0.1 - t

    with pytest.raises(
        lrsched.ArgumentError,
        match=r"^Negative\(\): the learning rate must "
        r"be finite and >= 0, got -0.9 at step 1.0$",
    ):
        Negative()(np.array([0.0, 1.0]))
    with pytest.raises(lrsched.ArgumentError, match=r"got -0\.9 at step 1\.0"):
        Negative()(1)
    # A bound makes a growing schedule usable: the overflow never reaches the caller.
    assert lrsched.exponential(1.0, 10.0).clip(max_lr=5.0)(1000) == 5.0


@pytest.mark.parametrize("schedule", SCHEDULES + MORE, ids=repr)
def test_whole_scalar_steps_read_from_the_table_are_the_array_values(schedule):
    steps = np.concatenate([np.arange(300), RNG.integers(0, 10**6, 200), [2**40, 2**53 - 1]])
    expected = schedule(steps.astype(np.float64))
    # In order (the table's chunks grow), at random (they restart), and as numpy scalars.
    got = [schedule(int(k)) for k in steps]
    assert np.array_equal(_bits(got), _bits(expected))
    assert np.array_equal(_bits([schedule(np.int64(k)) for k in steps[:50]]), _bits(expected[:50]))
    assert all(type(value) is float for value in got[:5])


@pytest.mark.parametrize("schedule", SCHEDULES[:6] + MORE[:4], ids=repr)
def test_random_whole_steps_come_from_pages_of_the_array_values(schedule):
    # A fresh schedule object: its table starts empty. Random steps (more misses than it
    # takes for the pages to reach whole frames), asked twice; every tenth step; a loop
    # resumed mid-way.
    schedule = copy.copy(schedule)
    steps = np.concatenate(
        [
            RNG.integers(0, 2 * 10**5, 600),
            np.arange(10**5, 10**5 + 3000, 10),
            np.arange(70001, 75000),
        ]
    )
    expected = _bits(schedule(steps.astype(np.float64)))
    for _ in range(2):
        assert np.array_equal(_bits([schedule(int(k)) for k in steps]), expected)


def test_pages_stay_within_their_bounds(monkeypatch):
    from lrsched import _evaluate

    monkeypatch.setattr(_evaluate, "_TABLE_VALUES", 3 * 4096)
    monkeypatch.setattr(_evaluate, "_ALL_VALUES", 8 * 4096)
    schedules = [lrsched.cosine(0.1, 10**6, min_lr=k * 1e-4) for k in range(6)]
    for schedule in schedules:
        steps = RNG.integers(0, 10**6, 400)
        got = [schedule(int(k)) for k in steps]
        assert np.array_equal(_bits(got), _bits(schedule(steps)))
    tables = [entry[1] for entry in _evaluate._TABLES.values()]
    assert all(table._held <= 3 * 4096 for table in tables)
    assert sum(table._held for table in tables) == _evaluate._HELD[0] <= 8 * 4096
    assert all(
        table._held == sum(len(page[2]) for page in table._pages.values()) for table in tables
    )


def test_a_table_chunk_that_fails_leaves_the_step_asked_for_to_decide():
    def factor(step):
        if step > 105:
            raise RuntimeError(f"no factor for {step}")
        return 1.0

    schedule = lrsched.lambda_lr(0.1, factor)
    assert [schedule(k) for k in range(100, 106)] == [0.1] * 6
    with pytest.raises(RuntimeError, match="no factor for 106"):
        schedule(106)
    table = StepTable(lrsched.exponential(1.0, 2.0))
    assert table(1020) == 2.0**1020  # its chunk runs into the overflow at 1024
    with pytest.raises(lrsched.ArgumentError, match=r"overflows float64 at step 1024\.0"):
        table(1024)


def test_a_training_loop_calls_a_multiplicative_factor_once_per_step():
    calls = []

    def factor(step):  # per element: torch's MultiplicativeLR passes one int
        calls.append(step)
        return 0.999 if step % 7 else 0.998

    schedule = lrsched.multiplicative(0.1, factor)
    table = StepTable(schedule)
    values = [table(k) for k in range(20000)]
    whole = [call for call in calls if isinstance(call, int)]  # the rest: vectorized tries
    assert sorted(whole) == list(range(1, len(whole) + 1))
    assert 20000 <= len(whole) < 20000 + table.max_chunk
    assert np.array_equal(_bits(values), _bits(schedule(np.arange(20000))))


def test_running_products_live_as_long_as_their_multiplicative():
    import gc

    from lrsched import _evaluate

    calls = []

    def factor(steps):
        calls.append(steps.size)
        return np.full(steps.shape, 0.999)

    kept = lrsched.multiplicative(0.1, factor)
    first = kept(np.arange(5000))
    for _ in range(20):  # more schedules than any count-based bound would keep
        lrsched.multiplicative(0.1, lambda k: 0.5)(np.arange(100))
    gc.collect()
    called = sum(calls)
    assert np.array_equal(kept(np.arange(5000)), first) and sum(calls) == called
    assert id(kept) in _evaluate._PRODUCTS  # the live one keeps its products...
    entries = list(_evaluate._PRODUCTS.values())
    assert all(reference() is not None for reference, _ in entries)  # ...dead ones' went
    key = id(kept)
    assert kept(4999) == first[-1]  # its scalar table must not keep it alive either
    del kept
    gc.collect()
    assert key not in _evaluate._PRODUCTS and key not in _evaluate._TABLES


def test_running_products_stay_exact_beyond_their_window(monkeypatch):
    from lrsched._evaluate import _RunningProducts

    # A small ring, so that each way of asking crosses it: 8 blocks kept, a checkpoint
    # every 2 blocks.
    monkeypatch.setattr(_RunningProducts, "WINDOW", 8 * BLOCK)
    monkeypatch.setattr(_RunningProducts, "SEGMENT", 2 * BLOCK)
    n = 23 * BLOCK + 77

    def factor(k):
        return 1.0 - 1e-4 * np.sin(k) ** 2

    # The product in torch's order, ((base * f1) * f2) * ..., computed in one go.
    expected = np.cumprod(np.concatenate([[0.1], factor(np.arange(1.0, n))]))
    calls = []

    def counted(k):
        calls.append(np.size(k))
        return factor(k)

    in_order = lrsched.multiplicative(0.1, counted)
    assert np.array_equal(_bits(in_order(np.arange(n))), _bits(expected))
    assert sum(calls) == n - 1  # once per step, though the ring holds 8 blocks
    shuffled = RNG.permutation(n)
    at_random = lrsched.multiplicative(0.1, factor)
    assert np.array_equal(_bits(at_random(shuffled)), _bits(expected[shuffled]))
    calls.clear()
    old = np.array([3, BLOCK + 5, 2 * BLOCK + 1, 20])  # long out of the ring
    assert np.array_equal(_bits(in_order(old)), _bits(expected[old]))
    assert sum(calls) == 2 * (2 * BLOCK - 1)  # only their two segments, again
    calls.clear()
    again = in_order(np.arange(n))  # a block at a time: each old segment recomputed once
    assert np.array_equal(_bits(again), _bits(expected))
    assert sum(calls) <= n - 8 * BLOCK + 2 * BLOCK
    mixed = np.concatenate([old, np.arange(n - 100, n)])[::-1].reshape(2, -1)
    assert np.array_equal(_bits(in_order(mixed)), _bits(expected[mixed]))
    loop = lrsched.multiplicative(0.1, factor)
    assert [loop(k) for k in range(0, n, 997)] == expected[::997].tolist()


def test_schedules_evaluate_from_several_user_threads_at_once(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from lrsched import _evaluate

    # Small bounds, so that pages are evicted while other threads read them.
    monkeypatch.setattr(_evaluate, "_TABLE_VALUES", 2 * 4096)
    monkeypatch.setattr(_evaluate, "_ALL_VALUES", 6 * 4096)

    schedules = [
        lrsched.cosine(0.1, 10**5),
        lrsched.step(0.1, 1000),
        SCHEDULES[4],
        SCHEDULES[9],
        MORE[8],
        MORE[9],
        lrsched.multiplicative(0.1, lambda k: 0.9999),
    ]
    steps = np.arange(2 * BLOCK)
    expected = [schedule(steps) for schedule in schedules]

    shuffled = RNG.permutation(steps)

    def evaluate(index):
        schedule = schedules[index % len(schedules)]
        if index % 3 == 1:
            return index % len(schedules), np.array([schedule(int(k)) for k in steps[:3000]])
        if index % 3 == 2:  # at random: pages made, replaced and evicted side by side
            values = np.empty(steps.size)
            values[shuffled[:300]] = [schedule(int(k)) for k in shuffled[:300]]
            values[shuffled[300:]] = schedule(shuffled[300:])
            return index % len(schedules), values
        return index % len(schedules), schedule(steps)

    with ThreadPoolExecutor(4) as users:
        for index, values in users.map(evaluate, range(42)):
            assert np.array_equal(_bits(values), _bits(expected[index][: values.size]))


def test_clip_copes_with_the_read_only_arrays_a_users_schedule_returns():
    class Flat(lrsched.Schedule):
        """A user's schedule returning a read-only view, which clip may not write to."""

        def _values(self, t):
            return np.broadcast_to(np.float64(1.0), t.shape)

    clipped = Flat().clip(max_lr=0.5)
    assert np.array_equal(clipped(np.arange(3 * BLOCK)), np.full(3 * BLOCK, 0.5))
    assert clipped(3) == 0.5 and Flat()(3) == 1.0


@given(schedule=lst.schedules(), scale=st.sampled_from([1.0, 0.37, 3.0]), shuffled=st.booleans())
def test_any_schedule_gives_its_scalar_bits_in_blocks(schedule, scale, shuffled):
    """Every family and composite, on arrays large enough for blocks."""
    steps = np.arange(3 * BLOCK + 17) * scale
    if shuffled:
        steps = RNG.permutation(steps)
    values = schedule(steps)
    picked = RNG.choice(steps.size, 40, replace=False)
    assert np.array_equal(_bits(values[picked]), _bits([schedule(float(steps[i])) for i in picked]))
