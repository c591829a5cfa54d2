"""param_groups, the multipliers ScheduleLR reads from the groups, and per-group plots,
on a small pretrained-style model (embeddings, numbered encoder blocks, pooler, head)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lrsched
from lrsched._groups import expand, group_schedules

torch = pytest.importorskip("torch")
from lrsched.adapters._param_groups import group_multipliers  # noqa: E402
from lrsched.adapters.torch import ScheduleLR, param_groups  # noqa: E402

nn = torch.nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.attention = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def forward(self, x):
        return self.norm(x + torch.tanh(self.attention(x)))


class TinyEncoder(nn.Module):
    """BERT's layout in miniature: embeddings, encoder.layer.i, pooler, a new head."""

    def __init__(self, vocab=20, width=8, layers=3, classes=3):
        super().__init__()
        self.embeddings = nn.Embedding(vocab, width)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(Block(width) for _ in range(layers))
        self.pooler = nn.Linear(width, width)
        self.classifier = nn.Linear(width, classes)

    def forward(self, tokens):
        x = self.embeddings(tokens)
        for block in self.encoder.layer:
            x = block(x)
        return self.classifier(torch.tanh(self.pooler(x.mean(dim=1))))


def _model():
    torch.manual_seed(0)
    return TinyEncoder()


def _names(groups):
    return [name for group in groups for name in group["param_names"]]


def test_every_trainable_parameter_lands_in_exactly_one_group():
    model = _model()
    model.embeddings.weight.requires_grad_(False)  # frozen: in no group
    groups = param_groups(
        model,
        {"embeddings": 0.1, "encoder": 1.0, "pooler": 1.0, "classifier": 10.0},
        weight_decay=0.01,
    )
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(_names(groups)) == sorted(trainable)
    assert len(_names(groups)) == len(set(_names(groups)))
    by_name = {group["name"]: group for group in groups}
    assert by_name["classifier"]["lr_scale"] == 10.0
    assert by_name["classifier.no_decay"]["param_names"] == ["classifier.bias"]
    assert by_name["classifier.no_decay"]["weight_decay"] == 0.0
    # LayerNorm weights are 1-d: no weight decay, like biases.
    assert "encoder.layer.0.norm.weight" in by_name["encoder.no_decay"]["param_names"]
    assert by_name["encoder"]["weight_decay"] == 0.01
    for group in groups:
        assert all(
            p is dict(model.named_parameters())[n]
            for p, n in zip(group["params"], group["param_names"])
        )


def test_parameters_matching_no_pattern_or_several_are_all_named():
    model = _model()
    with pytest.raises(lrsched.ArgumentError) as error:
        param_groups(model, {"encoder": 1.0, "classifier": 10.0, "*.bias": 2.0})
    message = str(error.value)
    assert "matching no pattern: embeddings.weight, pooler.weight" in message
    assert "classifier.bias (classifier, *.bias)" in message
    assert "encoder.layer.0.attention.bias (encoder, *.bias)" in message
    with pytest.raises(lrsched.ArgumentError, match=r"multipliers\['head'\] must be"):
        param_groups(model, {"head": -1.0})


def test_layer_decay_is_timms_rule_and_multiplies_the_pattern_factors():
    model = _model()
    groups = param_groups(model, layer_decay=0.5)
    scale = {name: group["lr_scale"] for group in groups for name in group["param_names"]}
    # 3 blocks: embeddings layer 0, blocks 1..3, pooler and head layer 4 (1x).
    assert scale["classifier.weight"] == scale["pooler.bias"] == 1.0
    assert scale["encoder.layer.2.attention.weight"] == 0.5
    assert scale["encoder.layer.0.norm.bias"] == 0.5**3
    assert scale["embeddings.weight"] == 0.5**4
    both = param_groups(
        model,
        {"classifier": 10.0, "embeddings": 1.0, "encoder": 1.0, "pooler": 1.0},
        layer_decay=0.5,
    )
    assert {g["name"]: g["lr_scale"] for g in both}["classifier.layer4"] == 10.0
    custom = param_groups(model, layer_decay=0.1, layer_of=lambda n: 0 if "emb" in n else 1)
    assert sorted(g["lr_scale"] for g in custom) == [pytest.approx(0.1), 1.0]
    with pytest.raises(lrsched.ArgumentError, match="layer_decay must be in"):
        param_groups(model, layer_decay=0.0)


def _train(model, optimizer, scheduler, steps=8):
    tokens = torch.randint(0, 20, (4, 5), generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 1, 2, 1])
    seen = []
    for _ in range(steps):
        seen.append([group["lr"] for group in optimizer.param_groups])
        loss = nn.functional.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
    return np.array(seen)


def test_fine_tuning_run_gets_each_groups_multiplier():
    model = _model()
    groups = param_groups(
        model,
        {"embeddings": 0.1, "encoder": 1.0, "pooler": 1.0, "classifier": 10.0},
        weight_decay=0.01,
    )
    optimizer = torch.optim.AdamW(groups, lr=1e-3)
    schedule = lrsched.warmup(lrsched.cosine(1e-3, 20), 4)
    scheduler = ScheduleLR(optimizer, schedule, multipliers=group_multipliers(groups))
    seen = _train(model, optimizer, scheduler)
    factors = np.array([g["lr_scale"] for g in groups])
    np.testing.assert_array_equal(seen, schedule(np.arange(8))[:, None] * factors[None, :])
    assert [g["weight_decay"] for g in optimizer.param_groups] == [
        g["weight_decay"] for g in groups
    ]


def test_multipliers_are_said_once():
    groups = [{"lr_scale": 1.0}, {"lr_scale": 10.0}]
    assert group_multipliers(groups, [1.0, 10.0]) == (1.0, 10.0)
    with pytest.raises(lrsched.ArgumentError, match="leave multipliers out"):
        group_multipliers(groups, [1.0, 5.0])
    assert group_multipliers([{}, {}], [2.0, 3.0]) == (2.0, 3.0)


def _reads_groups():
    model = _model()
    groups = param_groups(
        model, {"embeddings": 0.1, "encoder": 1.0, "pooler": 1.0, "classifier": 10.0}
    )
    optimizer = torch.optim.SGD(groups, lr=0.1)
    return ScheduleLR(optimizer, lrsched.constant(0.1)).get_last_lr() == [
        0.1 * g["lr_scale"] for g in groups
    ]


def test_schedule_lr_picks_the_multipliers_up_from_the_groups():
    assert _reads_groups()


def test_group_schedules_and_plot_draw_each_group_by_name(tmp_path):
    pytest.importorskip("matplotlib")
    model = _model()
    groups = param_groups(
        model, {"embeddings": 0.1, "encoder": 1.0, "pooler": 1.0, "classifier": 10.0}
    )
    optimizer = torch.optim.SGD(groups, lr=0.1)
    schedule = lrsched.cosine(0.1, 50)
    scheduler = ScheduleLR(optimizer, schedule, multipliers=group_multipliers(groups))
    pairs = group_schedules(scheduler)
    assert [label for label, _ in pairs] == [g["name"] for g in groups]
    for (_, s), group in zip(pairs, groups):
        assert s(10) == schedule(10) * group["lr_scale"]
    schedules, labels = expand([scheduler], None)
    ax = lrsched.plot(*schedules, labels=labels, steps=60, log_y=True)
    assert [line.get_label() for line in ax.get_lines()] == labels
    assert ax.get_yscale() == "log"
    top = max(ax.get_lines(), key=lambda line: line.get_ydata()[0])
    assert top.get_label() == "classifier" and top.get_ydata()[0] == pytest.approx(1.0)
    ax.figure.savefig(tmp_path / "groups.png")
    # A schedule with the groups' multipliers draws the same lines, no optimizer needed.
    same, same_labels = expand([schedule], None, groups)
    assert same_labels == labels and [s(7) for s in same] == [s(7) for s in schedules]


# --- from_torch: SWALR and ChainedScheduler ---------------------------------------------------


def _torch_lrs(optimizer, scheduler, steps):
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(steps):
            lrs.append([group["lr"] for group in optimizer.param_groups])
            optimizer.step()
            scheduler.step()
    return np.array(lrs)


@pytest.mark.parametrize("strategy, epochs", [("cos", 10), ("linear", 7), ("cos", 0)])
def test_swalr_is_the_anneal_into_swa_lr(strategy, epochs):
    from torch.optim.swa_utils import SWALR

    from lrsched.adapters.torch import from_torch

    params = [torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)]
    optimizer = torch.optim.SGD(
        [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.3}], lr=0.1
    )
    scheduler = SWALR(
        optimizer, swa_lr=[0.01, 0.02], anneal_epochs=epochs, anneal_strategy=strategy
    )
    converted = from_torch(scheduler)
    theirs = _torch_lrs(optimizer, scheduler, 25)
    ours = np.stack([s(np.arange(25)) for s in converted], axis=1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_chained_multiplicative_schedulers_are_their_product():
    from lrsched.adapters.torch import from_torch

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    L = torch.optim.lr_scheduler
    scheduler = L.ChainedScheduler(
        [
            L.ConstantLR(optimizer, factor=0.25, total_iters=4),
            L.ExponentialLR(optimizer, gamma=0.95),
            L.MultiStepLR(optimizer, milestones=[10, 20], gamma=0.5),
            L.LinearLR(optimizer, start_factor=0.5, total_iters=6),
        ],
        optimizer=optimizer,
    )
    converted = from_torch(scheduler)
    assert isinstance(converted, lrsched.product)
    theirs = _torch_lrs(optimizer, scheduler, 40)[:, 0]
    np.testing.assert_allclose(converted(np.arange(40)), theirs, rtol=1e-12)


def test_chained_with_an_absolute_scheduler_is_refused_with_the_reason():
    from lrsched.adapters.torch import from_torch

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    L = torch.optim.lr_scheduler
    scheduler = L.ChainedScheduler(
        [L.CosineAnnealingLR(optimizer, T_max=10), L.ExponentialLR(optimizer, gamma=0.9)],
        optimizer=optimizer,
    )
    with pytest.raises(TypeError, match="CosineAnnealingLR sets or adds to it"):
        from_torch(scheduler)
    assert math.isfinite(optimizer.param_groups[0]["lr"])


def _plot_takes_a_scheduler():
    pytest.importorskip("matplotlib")
    optimizer = torch.optim.SGD(
        [
            {"params": [torch.zeros(1, requires_grad=True)], "name": "backbone"},
            {"params": [torch.zeros(1, requires_grad=True)], "name": "head"},
        ],
        lr=0.1,
    )
    scheduler = ScheduleLR(optimizer, lrsched.cosine(0.1, 20), multipliers=[1.0, 10.0])
    try:
        ax = lrsched.plot(scheduler, steps=25, log_y=True)
    except (TypeError, ValueError):
        return False
    return [line.get_label() for line in ax.get_lines()] == ["backbone", "head"]


def test_plot_draws_each_group_of_a_schedule_lr():
    assert _plot_takes_a_scheduler()
