"""from_transformers and from_timm against the real transformers and timm schedulers.

Both libraries are optional: without them these tests skip. transformers' schedulers are
stepped like a training loop (scheduler.step() after each optimizer.step()); timm's are
asked for the LR of each epoch or update as its train loop does (step(epoch) /
step_update(num_updates)). timm's scheduler package is loaded on its own, since
``import timm`` also imports torchvision's models, which need a torchvision built for the
installed torch.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings

import numpy as np
import pytest

import lrsched

pytestmark = pytest.mark.frameworks
torch = pytest.importorskip("torch")

# Where lrsched and the library round in another order: 1e-13 relative, or 1e-15 of the
# peak where a cosine's trough cancels digits (1 + cos near -1).
RTOL = 1e-13
PEAK_ATOL = 1e-15


def _transformers():
    return pytest.importorskip("transformers")


def _timm_scheduler():
    if "timm.scheduler" in sys.modules:
        return sys.modules["timm.scheduler"]
    spec = importlib.util.find_spec("timm")
    if spec is None:
        pytest.skip("timm is not installed")
    try:
        import timm.scheduler

        return timm.scheduler
    except Exception:  # timm's package import needs a matching torchvision; its schedulers do not
        for name in [n for n in sys.modules if n == "timm" or n.startswith("timm.")]:
            del sys.modules[name]
        package = types.ModuleType("timm")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["timm"] = package
        import timm.scheduler

        return timm.scheduler


def _optimizer(lr):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def _hf_lrs(name, steps, base_lr, **kwargs):
    transformers = _transformers()
    optimizer = _optimizer(base_lr)
    specific = kwargs.pop("scheduler_specific_kwargs", None)
    scheduler = transformers.get_scheduler(
        name, optimizer, scheduler_specific_kwargs=specific, **kwargs
    )
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return np.array(lrs)


def _assert_same(ours, theirs):
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=PEAK_ATOL * theirs.max())
    assert np.array_equal(ours == 0, theirs == 0)  # zeros are exact, the step-0 LR included


HF_CASES = [
    ("linear", dict(num_warmup_steps=10, num_training_steps=100), {}),
    ("linear", dict(num_warmup_steps=0, num_training_steps=37), {}),
    ("linear", dict(num_warmup_steps=20, num_training_steps=20), {}),
    ("linear", dict(num_warmup_steps=30, num_training_steps=20), {}),
    ("cosine", dict(num_warmup_steps=10, num_training_steps=100), {}),
    ("cosine", dict(num_warmup_steps=7, num_training_steps=50), {"num_cycles": 1.5}),
    ("cosine", dict(num_warmup_steps=3, num_training_steps=43), {"num_cycles": 0.3}),
    ("cosine", dict(num_warmup_steps=0, num_training_steps=40), {}),
    ("cosine_with_restarts", dict(num_warmup_steps=5, num_training_steps=65), {"num_cycles": 3}),
    ("cosine_with_restarts", dict(num_warmup_steps=4, num_training_steps=51), {"num_cycles": 4}),
    ("cosine_with_restarts", dict(num_warmup_steps=0, num_training_steps=30), {}),
    ("polynomial", dict(num_warmup_steps=10, num_training_steps=100), {}),
    ("polynomial", dict(num_warmup_steps=5, num_training_steps=60), {"lr_end": 1e-4, "power": 2.0}),
    ("polynomial", dict(num_warmup_steps=0, num_training_steps=33), {"power": 0.5}),
    ("constant", {}, {}),
    ("constant_with_warmup", dict(num_warmup_steps=12), {}),
    ("inverse_sqrt", dict(num_warmup_steps=10), {}),
    ("inverse_sqrt", dict(num_warmup_steps=10), {"timescale": 25}),
    ("inverse_sqrt", dict(num_warmup_steps=0), {}),
    ("cosine_with_min_lr", dict(num_warmup_steps=10, num_training_steps=100), {"min_lr": 1e-5}),
    (
        "cosine_with_min_lr",
        dict(num_warmup_steps=4, num_training_steps=60),
        {"min_lr_rate": 0.1, "num_cycles": 1.0},
    ),
    (
        "cosine_warmup_with_min_lr",
        dict(num_warmup_steps=10, num_training_steps=100),
        {"min_lr_rate": 0.05},
    ),
    (
        "cosine_warmup_with_min_lr",
        dict(num_warmup_steps=8, num_training_steps=70),
        {"min_lr": 2e-5, "warmup_lr_rate": 0.1},
    ),
    (
        "cosine_warmup_with_min_lr",
        dict(num_warmup_steps=1, num_training_steps=30),
        {"min_lr_rate": 0.0},
    ),
    (
        "warmup_stable_decay",
        dict(num_warmup_steps=10, num_training_steps=100),
        {"num_decay_steps": 30},
    ),
    (
        "warmup_stable_decay",
        dict(num_warmup_steps=10),
        {
            "num_decay_steps": 20,
            "num_stable_steps": 15,
            "warmup_type": "cosine",
            "decay_type": "linear",
            "min_lr_ratio": 0.1,
        },
    ),
    (
        "warmup_stable_decay",
        dict(num_warmup_steps=9, num_training_steps=60),
        {
            "num_decay_steps": 25,
            "warmup_type": "1-sqrt",
            "decay_type": "1-sqrt",
            "min_lr_ratio": 0.2,
        },
    ),
    (
        "warmup_stable_decay",
        dict(num_warmup_steps=6, num_training_steps=40),
        {"num_decay_steps": 12, "num_cycles": 1.0},
    ),
    (
        "warmup_stable_decay",
        dict(num_warmup_steps=10, num_training_steps=25),
        {"num_decay_steps": 20},
    ),
    (
        "warmup_stable_decay",
        dict(num_warmup_steps=5, num_training_steps=30),
        {"num_decay_steps": 0},
    ),
]


@pytest.mark.parametrize(
    "name, counts, specific", HF_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(HF_CASES)]
)
def test_from_transformers_gives_transformers_lrs(name, counts, specific):
    base_lr = 3e-4
    steps = 2 * counts.get("num_training_steps", 60) + 15
    theirs = _hf_lrs(name, steps, base_lr, scheduler_specific_kwargs=dict(specific), **counts)
    ours = lrsched.from_transformers(name, base_lr=base_lr, **counts, **specific)
    _assert_same(ours(np.arange(steps)), theirs)


def test_every_transformers_scheduler_type_is_covered_or_refused():
    transformers = _transformers()
    names = {member.value for member in transformers.SchedulerType}
    covered = {case[0] for case in HF_CASES} | {"reduce_lr_on_plateau"}
    assert names - covered == {"greedy"}
    with pytest.raises(lrsched.ArgumentError, match="greedy"):
        lrsched.from_transformers(transformers.SchedulerType("greedy"), base_lr=0.1)
    s = lrsched.from_transformers(
        transformers.SchedulerType.COSINE, base_lr=0.1, num_warmup_steps=2, num_training_steps=10
    )
    assert s(0) == 0.0


def test_reduce_lr_on_plateau_replays_transformers_scheduler():
    transformers = _transformers()
    optimizer = _optimizer(0.1)
    options = {"mode": "min", "factor": 0.5, "patience": 2, "threshold": 0.01, "cooldown": 1}
    scheduler = transformers.get_scheduler(
        "reduce_lr_on_plateau", optimizer, scheduler_specific_kwargs=options
    )
    metrics = np.random.default_rng(0).uniform(0.5, 1.0, 40).tolist()
    theirs = []
    for metric in metrics:
        scheduler.step(metric)
        theirs.append(optimizer.param_groups[0]["lr"])
    ours = lrsched.from_transformers("reduce_lr_on_plateau", base_lr=0.1, **options)
    assert isinstance(ours, lrsched.plateau)
    np.testing.assert_array_equal(ours.replay(metrics), theirs)


def test_transformers_refusals_match_transformers():
    transformers = _transformers()
    with pytest.raises(ValueError):
        transformers.get_scheduler("linear", _optimizer(0.1), num_warmup_steps=2)
    with pytest.raises(lrsched.ArgumentError, match="num_training_steps"):
        lrsched.from_transformers("linear", base_lr=0.1, num_warmup_steps=2)
    with pytest.raises(ValueError):
        transformers.get_scheduler(
            "polynomial", _optimizer(1e-8), num_warmup_steps=2, num_training_steps=10
        )
    with pytest.raises(lrsched.ArgumentError, match="lr_end"):
        lrsched.from_transformers(
            "polynomial", base_lr=1e-8, num_warmup_steps=2, num_training_steps=10
        )
    with pytest.raises(TypeError):
        transformers.get_scheduler(
            "linear",
            _optimizer(0.1),
            num_warmup_steps=2,
            num_training_steps=10,
            scheduler_specific_kwargs={"num_cycles": 2},
        )
    with pytest.raises(TypeError, match="num_cycles"):
        lrsched.from_transformers(
            "linear", base_lr=0.1, num_warmup_steps=2, num_training_steps=10, num_cycles=2
        )


def test_from_transformers_drives_the_hf_trainer_optimizer_like_its_own_scheduler():
    """A real (tiny) transformers model trained with ScheduleLR over from_transformers
    ends with the same weights as the same run under transformers' own scheduler."""
    transformers = _transformers()
    from lrsched.adapters.torch import ScheduleLR

    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
    )
    batches = [
        (
            torch.randint(0, 50, (4, 8), generator=torch.Generator().manual_seed(i)),
            torch.tensor([i % 2, (i + 1) % 2, 0, 1]),
        )
        for i in range(12)
    ]

    def train(make_scheduler):
        torch.manual_seed(0)
        model = transformers.BertForSequenceClassification(config)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        scheduler = make_scheduler(optimizer)
        used = []
        for input_ids, labels in batches:
            used.append(optimizer.param_groups[0]["lr"])
            loss = model(input_ids=input_ids, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            scheduler.step()
        return used, [p.detach().clone() for p in model.parameters()]

    theirs, their_weights = train(
        lambda opt: transformers.get_scheduler(
            "cosine", opt, num_warmup_steps=3, num_training_steps=12
        )
    )
    ours, our_weights = train(
        lambda opt: ScheduleLR(
            opt,
            lrsched.from_transformers(
                "cosine", base_lr=1e-3, num_warmup_steps=3, num_training_steps=12
            ),
        )
    )
    assert theirs[0] == ours[0] == 0.0
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=0)
    for mine, other in zip(our_weights, their_weights):
        torch.testing.assert_close(mine, other, rtol=1e-6, atol=1e-7)


# --- timm ------------------------------------------------------------------------------------


def _timm_lrs(steps, base_lr, **kwargs):
    scheduler_module = _timm_scheduler()
    optimizer = _optimizer(base_lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler, _ = scheduler_module.create_scheduler_v2(optimizer, **kwargs)
    per_update = not kwargs.get("step_on_epochs", True)
    lrs = [optimizer.param_groups[0]["lr"]]
    for t in range(1, steps):
        if per_update:
            scheduler.step_update(num_updates=t)
        else:
            scheduler.step(t)
        lrs.append(optimizer.param_groups[0]["lr"])
    return np.array(lrs)


TIMM_CASES = [
    dict(sched="cosine", num_epochs=50),
    dict(sched="cosine", num_epochs=50, min_lr=1e-5, warmup_epochs=5, warmup_lr=1e-6),
    dict(sched="cosine", num_epochs=40, min_lr=1e-5, warmup_epochs=5, warmup_prefix=True),
    dict(sched="cosine", num_epochs=10, cycle_limit=4, cycle_decay=0.5, min_lr=1e-4),
    dict(
        sched="cosine",
        num_epochs=10,
        cycle_limit=3,
        cycle_mul=2.0,
        cycle_decay=0.7,
        warmup_epochs=3,
    ),
    dict(sched="cosine", num_epochs=8, cycle_limit=3, cycle_mul=1.5, min_lr=1e-5),
    dict(sched="cosine", num_epochs=30, k_decay=2.0, min_lr=1e-5),
    dict(sched="cosine", num_epochs=30, k_decay=0.5, warmup_epochs=4, warmup_prefix=True),
    dict(
        sched="cosine",
        num_epochs=6,
        warmup_epochs=2,
        step_on_epochs=False,
        updates_per_epoch=7,
        min_lr=1e-6,
    ),
    dict(sched="tanh", num_epochs=40),
    dict(sched="tanh", num_epochs=40, warmup_epochs=5, min_lr=1e-5),
    dict(
        sched="tanh",
        num_epochs=20,
        warmup_epochs=5,
        warmup_prefix=True,
        cycle_limit=2,
        cycle_decay=0.5,
    ),
    dict(sched="step", decay_epochs=7, decay_rate=0.5),
    dict(sched="step", decay_epochs=7, decay_rate=0.5, warmup_epochs=3, warmup_lr=1e-4),
    dict(sched="step", decay_epochs=2.5, decay_rate=0.5),
    dict(sched="step", decay_epochs=2, decay_rate=0.8, step_on_epochs=False, updates_per_epoch=5),
    dict(sched="multistep", decay_milestones=[5, 12, 12, 20], decay_rate=0.5),
    dict(sched="multistep", decay_milestones=[0, 1, 6], decay_rate=0.5, warmup_epochs=2),
    dict(
        sched="multistep",
        decay_milestones=[3, 8],
        decay_rate=0.1,
        step_on_epochs=False,
        updates_per_epoch=4,
    ),
    dict(sched="constant", warmup_epochs=4, warmup_lr=1e-3),
    dict(sched="poly", num_epochs=30, decay_rate=2.0, min_lr=1e-5),
    dict(sched="poly", num_epochs=30, decay_rate=0.5, warmup_epochs=3),
    dict(
        sched="poly", num_epochs=10, decay_rate=1.0, cycle_limit=3, cycle_mul=2.0, cycle_decay=0.5
    ),
]


@pytest.mark.parametrize(
    "kwargs", TIMM_CASES, ids=[f"{c['sched']}-{i}" for i, c in enumerate(TIMM_CASES)]
)
def test_from_timm_gives_timm_lrs(kwargs):
    base_lr = 0.05
    steps = 120 if kwargs.get("step_on_epochs", True) else 90
    theirs = _timm_lrs(steps, base_lr, **kwargs)
    ours = lrsched.from_timm(base_lr=base_lr, **kwargs)(np.arange(steps))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=PEAK_ATOL * theirs.max())


def test_from_timm_plateau_replays_timm():
    scheduler_module = _timm_scheduler()
    optimizer = _optimizer(0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler, _ = scheduler_module.create_scheduler_v2(
            optimizer, sched="plateau", decay_rate=0.5, patience_epochs=2, min_lr=1e-3
        )
    metrics = np.random.default_rng(1).uniform(0.0, 1.0, 40).tolist()
    theirs = []
    for epoch, metric in enumerate(metrics, start=1):
        scheduler.step(epoch, metric)
        theirs.append(optimizer.param_groups[0]["lr"])
    ours = lrsched.from_timm(
        base_lr=0.1, sched="plateau", decay_rate=0.5, patience_epochs=2, min_lr=1e-3
    )
    np.testing.assert_array_equal(ours.replay(metrics), theirs)


def test_timm_noise_is_refused_with_the_reason():
    with pytest.raises(lrsched.ArgumentError, match="torch's random generator"):
        lrsched.from_timm(base_lr=0.1, noise=[0.4, 0.9])
