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
from hypothesis import given
from hypothesis import strategies as st

import lrsched
from lrsched.testing import strategies as lst
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


# Families whose sorted blocks are filled piece by piece, or evaluated in place.
IN_PLACE = [
    lrsched.constant(0.1),
    lrsched.step(0.1, step_size=50000, gamma=0.5),
    lrsched.piecewise_constant([1000, 30000, 45000], [0.1, 0.05, 0.01, 0.001]),
    lrsched.exponential(0.1, 0.01, 60000, staircase=True),
    lrsched.linear(0.1, 0.001, 40000),
    lrsched.polynomial(0.1, 40000, power=2.0),
    lrsched.polynomial(0.1, 40000, power=0.5, end_lr=0.01),
    lrsched.cosine(0.1, 40000, periodic=True),
    lrsched.warmup(lrsched.multistep(0.1, [20000, 20000, 40000]), steps=3000).shift(500),
    (lrsched.cosine(0.1, 40000) * lrsched.linear(1.0, 0.5, 30000)).clip(0.01, 0.08),
    lrsched.cosine(0.1, 400).per_epoch(100, staircase=True),
]


@pytest.mark.parametrize("schedule", IN_PLACE, ids=repr)
def test_in_place_paths_give_the_scalar_values(schedule):
    test_blocks_sorted_and_shuffled_steps_give_the_scalar_values(schedule)


@pytest.fixture
def threads(monkeypatch):
    """Set the thread count for a test, with threads used whatever the formula costs
    (families that say they are cheap still do: only the base class is patched)."""
    monkeypatch.setattr(lrsched.Schedule, "_costly", lambda self: True)
    previous = lrsched.set_num_threads(None)
    yield lrsched.set_num_threads
    lrsched.set_num_threads(previous)


@pytest.mark.parametrize("schedule", SCHEDULES + IN_PLACE, ids=repr)
def test_threads_give_the_bits_of_one_thread(schedule, threads):
    steps = np.concatenate([np.arange(3 * BLOCK + 17), RNG.uniform(0, 90000, BLOCK)])
    threads(1)
    alone = schedule(steps)
    for count in (2, 3, 7):
        threads(count)
        assert np.array_equal(_bits(schedule(steps)), _bits(alone)), count


def test_the_first_bad_step_is_reported_whichever_thread_meets_it(threads):
    schedule = lrsched.cosine(0.1, 1000)
    steps = np.arange(4 * BLOCK, dtype=np.float64)
    steps[[BLOCK + 5, 3 * BLOCK + 1]] = [np.nan, -2.0]
    for count in (1, 2, 4):
        threads(count)
        with pytest.raises(ValueError, match=rf"got nan at index \({BLOCK + 5},\)"):
            schedule(steps)
    # A bad step comes before an overflow further on, as it would on one thread.
    growing = lrsched.exponential(1.0, gamma=2.0, decay_steps=1.0)
    steps = np.arange(4 * BLOCK, dtype=np.float64)
    steps[BLOCK] = -1.0
    threads(4)
    with pytest.raises(ValueError, match=rf"got -1.0 at index \({BLOCK},\)"):
        growing(steps)
    steps[BLOCK] = 1.0
    with pytest.raises(ValueError, match=r"overflows float64 at step 1024.0"):
        growing(steps)


def test_users_functions_run_on_the_calling_thread(threads):
    import threading

    seen = set()

    def halve(step):
        seen.add(threading.get_ident())
        return 0.5 ** (np.asarray(step) // 1000)

    threads(4)
    steps = np.arange(4 * BLOCK)
    for schedule in (lrsched.lambda_lr(0.1, halve),
                     lrsched.cyclic(0.01, 0.1, 100, scale_fn=halve, scale_mode="iterations"),
                     lrsched.warmup(lrsched.lambda_lr(0.1, halve), steps=10)):
        seen.clear()
        schedule(steps)
        assert seen == {threading.get_ident()}, schedule


def test_thread_count_is_validated_and_defaults_to_the_available_cpus(threads, monkeypatch):
    import os

    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match=rf"set_num_threads\(\): count must be a positive "
                                             rf"integer or None, got {bad!r}"):
            threads(bad)
    assert threads(3) >= 1
    assert lrsched.get_num_threads() == 3
    threads(None)
    assert 1 <= lrsched.get_num_threads() <= min(8, len(os.sched_getaffinity(0)))
    monkeypatch.setenv("LRSCHED_NUM_THREADS", "5")
    threads(None)
    assert lrsched.get_num_threads() == 5
    monkeypatch.setenv("LRSCHED_NUM_THREADS", "many")
    threads(None)
    with pytest.raises(ValueError, match="LRSCHED_NUM_THREADS must be a positive integer, "
                                         "got 'many'"):
        lrsched.get_num_threads()
    monkeypatch.delenv("LRSCHED_NUM_THREADS")
    threads(None)


_FORK_CHILD = """
import os, numpy as np, lrsched
lrsched.set_num_threads(2)
schedule = lrsched.cosine(0.1, 10**5)
steps = np.arange(4 * 2**16)
expected = schedule(steps)  # the parent's pool now has a worker thread
pid = os.fork()
if pid == 0:  # the child's copy of the pool has no thread behind it
    os._exit(0 if np.array_equal(schedule(steps), expected) else 1)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_evaluates_with_a_fresh_pool():
    import subprocess
    import sys

    # A fresh interpreter: this one may hold other libraries' threads (jax), which fork
    # would upset.
    completed = subprocess.run([sys.executable, "-c", _FORK_CHILD], timeout=60)
    assert completed.returncode == 0


def test_costly_formulas_share_the_blocks_and_cheap_ones_do_not(monkeypatch):
    import threading
    import time

    seen = []

    def spy(family):
        original = family._values_in_place

        def spied(self, t):
            seen.append(threading.get_ident())
            time.sleep(0.002)  # lets the other thread take blocks while this one waits
            return original(self, t)

        monkeypatch.setattr(family, "_values_in_place", spied)

    spy(lrsched.cosine)
    spy(lrsched.linear)
    previous = lrsched.set_num_threads(2)
    try:
        steps = np.arange(8 * BLOCK)
        lrsched.cosine(0.1, 1000)(steps)
        assert len(set(seen)) == 2
        seen.clear()
        lrsched.linear(0.1, 0.0, 1000)(steps)
        assert seen == [threading.get_ident()] * 8
    finally:
        lrsched.set_num_threads(previous)


def test_costly_is_declared_where_a_step_costs_a_transcendental_function():
    costly = [lrsched.cosine(0.1, 10), lrsched.exponential(0.1, 0.5),
              lrsched.one_cycle(0.1, 10), lrsched.warm_restarts(0.1, 5),
              lrsched.wsd(0.1, 1, 2, 3, decay_shape="1-sqrt"), lrsched.polynomial(0.1, 10),
              lrsched.sequence([lrsched.constant(0.1), lrsched.cosine(0.1, 10)], [5]),
              lrsched.warmup(lrsched.constant(0.1), 5, mode="cosine"),
              lrsched.one_cycle(0.1, 10).momentum(), lrsched.cosine(0.1, 10) * 2.0]
    cheap = [lrsched.constant(0.1), lrsched.step(0.1, 3), lrsched.linear(0.1, 0.0, 10),
             lrsched.one_cycle(0.1, 10, anneal="linear"), lrsched.cyclic(0.1, 1.0, 5),
             lrsched.wsd(0.1, 1, 2, 3, decay_shape="linear"),
             lrsched.warmup(lrsched.step(0.1, 3), 5), lrsched.clip(lrsched.linear(0.1, 0, 9))]
    assert all(schedule._costly() for schedule in costly)
    assert not any(schedule._costly() for schedule in cheap)


def test_schedules_evaluate_from_several_user_threads_at_once(threads):
    from concurrent.futures import ThreadPoolExecutor

    schedules = [lrsched.cosine(0.1, 10**5), lrsched.step(0.1, 1000), SCHEDULES[4],
                 SCHEDULES[9], IN_PLACE[8], IN_PLACE[9]]
    steps = np.arange(5 * BLOCK)
    threads(1)
    expected = [schedule(steps) for schedule in schedules]
    threads(3)

    def evaluate(index):
        if index == 7:
            threads(4)  # a larger pool replaces the shared one while others use it
        return index % len(schedules), schedules[index % len(schedules)](steps)

    with ThreadPoolExecutor(4) as users:
        for index, values in users.map(evaluate, range(24)):
            assert np.array_equal(_bits(values), _bits(expected[index]))


def test_clip_copes_with_the_read_only_arrays_a_users_schedule_returns():
    class Flat(lrsched.Schedule):
        """A user's schedule returning a read-only view, which clip may not write to."""

        def _values(self, t):
            return np.broadcast_to(np.float64(1.0), t.shape)

    clipped = Flat().clip(max_lr=0.5)
    assert np.array_equal(clipped(np.arange(3 * BLOCK)), np.full(3 * BLOCK, 0.5))
    assert clipped(3) == 0.5 and Flat()(3) == 1.0


@given(schedule=lst.schedules(), scale=st.sampled_from([1.0, 0.37, 3.0]),
       shuffled=st.booleans())
def test_any_schedule_gives_its_scalar_bits_in_blocks_and_threads(schedule, scale, shuffled):
    """Every family and composite, on arrays large enough for blocks and threads."""
    steps = np.arange(3 * BLOCK + 17) * scale
    if shuffled:
        steps = RNG.permutation(steps)
    previous = lrsched.set_num_threads(1)
    try:
        alone = schedule(steps)
        lrsched.set_num_threads(2)
        assert np.array_equal(_bits(schedule(steps)), _bits(alone))
    finally:
        lrsched.set_num_threads(previous)
    picked = RNG.choice(steps.size, 40, replace=False)
    assert np.array_equal(_bits(alone[picked]), _bits([schedule(float(steps[i])) for i in picked]))
