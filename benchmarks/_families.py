"""One representative schedule per family, sized for a run of n steps, with its twins.

Each entry builds the lrsched schedule and, where the framework has the same schedule,
the torch scheduler, the optax schedule and the Keras schedule, all with the same
parameters (a typical run: total_steps = n, a few decays, a 1-5 % warmup). Frameworks
are imported inside the builders, so this module is cheap to import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lrsched as L

Builder = Callable[..., Any] | None


def _inverse_step(t):
    return 1.0 / (1.0 + t / 1000.0)


def _keep(k):
    return 0.99999


@dataclass(frozen=True)
class Family:
    name: str
    lrsched: Callable[[int], L.Schedule]
    torch: Builder = None  # (optimizer, n) -> torch LRScheduler
    optax: Builder = None  # n -> optax schedule
    keras: Builder = None  # n -> keras LearningRateSchedule
    torch_reads: str = "lr"  # the param_groups key the torch trajectory reads


def _t():
    from torch.optim import lr_scheduler

    return lr_scheduler


def _o():
    import optax

    return optax


def _k():
    import keras

    return keras.optimizers.schedules


FAMILIES = [
    Family(
        "constant",
        lambda n: L.constant(0.1),
        torch=lambda opt, n: _t().ConstantLR(opt, factor=1.0, total_iters=0),
        optax=lambda n: _o().constant_schedule(0.1),
    ),
    Family(
        "step",
        lambda n: L.step(0.1, step_size=n // 10, gamma=0.5),
        torch=lambda opt, n: _t().StepLR(opt, step_size=n // 10, gamma=0.5),
        optax=lambda n: _o().exponential_decay(0.1, n // 10, 0.5, staircase=True),
        keras=lambda n: _k().ExponentialDecay(0.1, n // 10, 0.5, staircase=True),
    ),
    Family(
        "multistep",
        lambda n: L.multistep(0.1, [n // 2, 3 * n // 4]),
        torch=lambda opt, n: _t().MultiStepLR(opt, [n // 2, 3 * n // 4]),
        optax=lambda n: _o().piecewise_constant_schedule(0.1, {n // 2: 0.1, 3 * n // 4: 0.1}),
        keras=lambda n: _k().PiecewiseConstantDecay([n // 2, 3 * n // 4], [0.1, 0.01, 0.001]),
    ),
    Family(
        "piecewise_constant",
        lambda n: L.piecewise_constant([n // 2, 3 * n // 4], [0.1, 0.01, 0.001]),
        optax=lambda n: _o().piecewise_constant_schedule(0.1, {n // 2: 0.1, 3 * n // 4: 0.1}),
        keras=lambda n: _k().PiecewiseConstantDecay([n // 2, 3 * n // 4], [0.1, 0.01, 0.001]),
    ),
    Family("piecewise_linear", lambda n: L.piecewise_linear([0, n // 10, n], [0.001, 0.1, 0.0])),
    Family(
        "exponential",
        lambda n: L.exponential(0.1, gamma=0.01, decay_steps=n),
        torch=lambda opt, n: _t().ExponentialLR(opt, gamma=0.01 ** (1.0 / n)),
        optax=lambda n: _o().exponential_decay(0.1, n, 0.01),
        keras=lambda n: _k().ExponentialDecay(0.1, n, 0.01),
    ),
    Family("exponential_ramp", lambda n: L.exponential_ramp(1e-7, 10.0, total_steps=n)),
    Family(
        "linear",
        lambda n: L.linear(0.1, 0.001, total_steps=n),
        torch=lambda opt, n: _t().LinearLR(opt, start_factor=1.0, end_factor=0.01, total_iters=n),
        optax=lambda n: _o().linear_schedule(0.1, 0.001, n),
        keras=lambda n: _k().PolynomialDecay(0.1, n, 0.001, power=1.0),
    ),
    Family(
        "polynomial",
        lambda n: L.polynomial(0.1, total_steps=n, power=2.0),
        torch=lambda opt, n: _t().PolynomialLR(opt, total_iters=n, power=2.0),
        optax=lambda n: _o().polynomial_schedule(0.1, 0.0, 2.0, n),
        keras=lambda n: _k().PolynomialDecay(0.1, n, 0.0, power=2.0),
    ),
    Family(
        "inverse_time",
        lambda n: L.inverse_time(0.1, decay_steps=n // 100, decay_rate=1.0),
        keras=lambda n: _k().InverseTimeDecay(0.1, n // 100, 1.0),
    ),
    Family("inverse_sqrt", lambda n: L.inverse_sqrt(0.1, timescale=1000)),
    Family(
        "lambda_lr",
        lambda n: L.lambda_lr(0.1, _inverse_step),
        torch=lambda opt, n: _t().LambdaLR(opt, _inverse_step),
    ),
    Family(
        "multiplicative",
        lambda n: L.multiplicative(0.1, _keep),
        torch=lambda opt, n: _t().MultiplicativeLR(opt, _keep),
    ),
    Family(
        "cosine",
        lambda n: L.cosine(0.1, total_steps=n),
        torch=lambda opt, n: _t().CosineAnnealingLR(opt, T_max=n),
        optax=lambda n: _o().cosine_decay_schedule(0.1, n),
        keras=lambda n: _k().CosineDecay(0.1, n),
    ),
    Family(
        "warm_restarts",
        lambda n: L.warm_restarts(0.1, period=n // 15, period_mult=2),
        torch=lambda opt, n: _t().CosineAnnealingWarmRestarts(opt, T_0=n // 15, T_mult=2),
        keras=lambda n: _k().CosineDecayRestarts(0.1, n // 15, t_mul=2.0),
    ),
    Family(
        "wsd",
        lambda n: L.wsd(
            0.1,
            warmup_steps=n // 100,
            stable_steps=7 * n // 10,
            decay_steps=n - n // 100 - 7 * n // 10,
            decay_shape="cosine",
        ),
    ),
    Family(
        "cyclic",
        lambda n: L.cyclic(0.01, 0.1, step_size_up=2000),
        torch=lambda opt, n: _t().CyclicLR(opt, 0.01, 0.1, step_size_up=2000, cycle_momentum=False),
    ),
    Family(
        "one_cycle",
        lambda n: L.one_cycle(0.1, total_steps=n),
        torch=lambda opt, n: _t().OneCycleLR(opt, 0.1, total_steps=n, cycle_momentum=False),
        optax=lambda n: _o().cosine_onecycle_schedule(n, 0.1),
    ),
    Family(
        "cycle_momentum",
        lambda n: L.one_cycle(0.1, total_steps=n).momentum(),
        torch=lambda opt, n: _t().OneCycleLR(opt, 0.1, total_steps=n),
        torch_reads="momentum",
    ),
    Family(
        "warmup(cosine)",
        lambda n: L.warmup(L.cosine(0.1, total_steps=n - n // 20), steps=n // 20),
        torch=lambda opt, n: _t().SequentialLR(
            opt,
            [
                _t().LinearLR(opt, start_factor=1.0 / (n // 20 + 1), total_iters=n // 20),
                _t().CosineAnnealingLR(opt, T_max=n - n // 20),
            ],
            milestones=[n // 20],
        ),
        optax=lambda n: _o().warmup_cosine_decay_schedule(0.0, 0.1, n // 20, n),
        keras=lambda n: _k().CosineDecay(0.0, n - n // 20, warmup_target=0.1, warmup_steps=n // 20),
    ),
    Family(
        "sequence",
        lambda n: L.sequence([L.constant(0.1), L.cosine(0.1, total_steps=n // 2)], [n // 2]),
        torch=lambda opt, n: _t().SequentialLR(
            opt,
            [
                _t().ConstantLR(opt, factor=1.0, total_iters=0),
                _t().CosineAnnealingLR(opt, T_max=n // 2),
            ],
            milestones=[n // 2],
        ),
        optax=lambda n: _o().join_schedules(
            [_o().constant_schedule(0.1), _o().cosine_decay_schedule(0.1, n // 2)], [n // 2]
        ),
    ),
]

BY_NAME = {family.name: family for family in FAMILIES}
