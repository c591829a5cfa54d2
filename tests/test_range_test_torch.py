"""The torch range-test driver on least squares, where the divergence LR 2/L is known."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from range_cases.least_squares import largest_curvature, least_squares_data  # noqa: E402

from lrsched.adapters._range_test_torch import range_test  # noqa: E402


def _setup(seed, x):
    torch.manual_seed(seed)
    model = torch.nn.Linear(x.shape[1], 1)
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def _constant_lr_loss_ratios(model, x, y, lrs, steps=300):
    """Full-batch GD on the same least squares from the model's start, in float64 numpy
    (vectorized over the LRs: the torch driver is what is under test, not this check)."""
    design = np.hstack([x.astype(np.float64), np.ones((x.shape[0], 1))])
    start = np.concatenate(
        [model.weight.detach().numpy().ravel(), model.bias.detach().numpy().ravel()]
    ).astype(np.float64)
    lrs = np.asarray(lrs, dtype=np.float64)[:, None]
    w = np.repeat(start[None, :], lrs.shape[0], axis=0)
    target = y.astype(np.float64).ravel()

    def losses(weights):
        return np.mean((weights @ design.T - target) ** 2, axis=1)

    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            residual = w @ design.T - target
            w = w - lrs * (2.0 / x.shape[0]) * residual @ design
        ratio = losses(w) / losses(start[None, :])
    return np.where(np.isfinite(ratio), ratio, np.inf)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kappa", [100.0, 1000.0])
def test_default_suggestion_on_least_squares(seed, kappa):
    x_np, y_np = least_squares_data(seed, kappa=kappa)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    divergence = 2.0 / largest_curvature(x_np)
    model, optimizer = _setup(seed, x_np)
    result = range_test(
        model, optimizer, torch.nn.MSELoss(), [(x, y)], start_lr=1e-6, end_lr=100.0, num_steps=100
    )
    suggestion = result.suggest()
    assert suggestion < divergence
    assert _constant_lr_loss_ratios(model, x_np, y_np, [suggestion])[0] <= 0.01
    grid = np.geomspace(1e-3, 0.995, 60) * divergence
    best = grid[np.argmin(_constant_lr_loss_ratios(model, x_np, y_np, grid))]
    assert best / suggestion <= 30.0


def test_accumulation_counts_one_ramp_step_per_optimizer_step():
    x_np, y_np = least_squares_data(0)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    quarters = [(x[i::4], y[i::4]) for i in range(4)]  # equal sizes: the mean of means
    results = []
    for batches, accumulation in [([(x, y)], 1), (quarters, 4)]:
        model, optimizer = _setup(0, x_np)
        results.append(
            range_test(
                model,
                optimizer,
                torch.nn.MSELoss(),
                batches,
                start_lr=1e-5,
                end_lr=10.0,
                num_steps=50,
                accumulation_steps=accumulation,
            )
        )
    full, accumulated = results
    np.testing.assert_array_equal(full.lrs, accumulated.lrs)
    # Float32 sums in a different order: equal until the explosion amplifies rounding.
    np.testing.assert_allclose(full.losses[:30], accumulated.losses[:30], rtol=1e-4)


def _state(model, optimizer):
    return copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())


def _assert_same_state(before, model, optimizer):
    weights, optimizer_state = before
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, weights[name], rtol=0, atol=0)
    after = optimizer.state_dict()
    assert after["param_groups"] == optimizer_state["param_groups"]
    for key, state in optimizer_state["state"].items():
        for name, value in state.items():
            torch.testing.assert_close(after["state"][key][name], value, rtol=0, atol=0)


def _adam_with_history(x, y):
    model, _ = _setup(1, x.numpy())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):  # non-trivial moments to restore
        optimizer.zero_grad()
        torch.nn.MSELoss()(model(x), y).backward()
        optimizer.step()
    model.eval()
    return model, optimizer


def test_model_and_optimizer_are_restored():
    x_np, y_np = least_squares_data(1)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model, optimizer = _adam_with_history(x, y)
    before = _state(model, optimizer)
    range_test(model, optimizer, torch.nn.MSELoss(), [(x, y)], num_steps=40)
    _assert_same_state(before, model, optimizer)
    assert not model.training


def test_model_and_optimizer_are_restored_when_a_step_raises():
    x_np, y_np = least_squares_data(2)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model, optimizer = _adam_with_history(x, y)
    before = _state(model, optimizer)
    calls = []

    def failing_loss(prediction, target):
        calls.append(1)
        if len(calls) == 10:
            raise RuntimeError("boom")
        return torch.nn.functional.mse_loss(prediction, target)

    with pytest.raises(RuntimeError, match="boom"):
        range_test(model, optimizer, failing_loss, [(x, y)], num_steps=40)
    _assert_same_state(before, model, optimizer)


def test_bad_arguments():
    x_np, _y_np = least_squares_data(0)
    model, optimizer = _setup(0, x_np)
    with pytest.raises(ValueError, match="accumulation_steps must be a positive integer"):
        range_test(model, optimizer, torch.nn.MSELoss(), [], accumulation_steps=0)
    with pytest.raises(ValueError, match="batches yielded no batches"):
        range_test(model, optimizer, torch.nn.MSELoss(), [])
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        range_test(object(), optimizer, torch.nn.MSELoss(), [])


def test_a_dataloader_is_iterated_again_when_it_runs_out():
    x_np, y_np = least_squares_data(3, samples=64)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x_np), torch.from_numpy(y_np))
    loader = torch.utils.data.DataLoader(dataset, batch_size=16)  # 4 batches per pass
    model, optimizer = _setup(3, x_np)
    result = range_test(
        model,
        optimizer,
        torch.nn.MSELoss(),
        loader,
        start_lr=1e-9,
        end_lr=1e-8,
        num_steps=10,
        diverge_factor=None,
    )
    assert result.lrs.size == 10
    # A negligible LR leaves the model as it is: batch i and batch i + 4 are the same.
    np.testing.assert_allclose(result.losses[:6], result.losses[4:], rtol=1e-5)


# --- Batch shapes, the loss_fn hook, validation, AMP, restoring everything -------------


class SelfLossLinear(torch.nn.Module):
    """A linear model that computes its own loss when given labels, as Hugging Face
    models do: ``model(**batch)`` returns a dict with ``loss`` and ``logits``."""

    def __init__(self, features):
        super().__init__()
        self.linear = torch.nn.Linear(features, 1)

    def forward(self, inputs, labels=None):
        output = {"logits": self.linear(inputs)}
        if labels is not None:
            output["loss"] = torch.nn.functional.mse_loss(output["logits"], labels)
        return output


class PackedLinear(torch.nn.Module):
    """Takes one bare tensor holding inputs and target side by side; returns the loss."""

    def __init__(self, features):
        super().__init__()
        self.linear = torch.nn.Linear(features, 1)

    def forward(self, packed):
        # Contiguous copies: a strided view of the inputs can take another matmul kernel,
        # whose float32 rounding differs, and the range test's divergence amplifies it.
        inputs, targets = packed[:, :-1].contiguous(), packed[:, -1:].contiguous()
        return torch.nn.functional.mse_loss(self.linear(inputs), targets)


def _least_squares_torch(seed=0, **kwargs):
    x_np, y_np = least_squares_data(seed, **kwargs)
    return x_np, y_np, torch.from_numpy(x_np), torch.from_numpy(y_np)


def _shape_run(kind):
    """The same least squares, the same start, fed as one kind of batch."""
    _, _, x, y = _least_squares_torch(0)
    torch.manual_seed(0)
    model = PackedLinear(x.shape[1]) if kind == "bare tensor" else SelfLossLinear(x.shape[1])
    criterion, loss_fn = None, None
    if kind == "tuple + criterion":
        batches, criterion = (
            [(x, y)],
            lambda output, target: torch.nn.functional.mse_loss(output, target),
        )
        model = _LogitsOnly(model)
    elif kind == "dict + criterion":
        batches, criterion = [{"inputs": x, "labels": y}], torch.nn.MSELoss()
    elif kind == "dict, model's own loss":
        batches = [{"inputs": x, "labels": y}]
    elif kind == "bare tensor":
        batches = [torch.cat([x, y], dim=1)]
    else:  # a loss_fn hook returning an output with a loss
        batches = [(x, y)]

        def loss_fn(model, batch):
            return model(batch[0], labels=batch[1])

    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return range_test(
        model,
        optimizer,
        criterion,
        batches,
        loss_fn=loss_fn,
        start_lr=1e-5,
        end_lr=100.0,
        num_steps=60,
    )


class _LogitsOnly(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, inputs):
        return self.inner(inputs)["logits"]


SHAPES = [
    "tuple + criterion",
    "dict + criterion",
    "dict, model's own loss",
    "bare tensor",
    "loss_fn hook",
]


def test_every_batch_shape_trains_the_same_updates():
    # Same data, same initial weights (one seed), the same MSE: identical curves prove
    # every path fed the right inputs and targets to the right loss.
    runs = {kind: _shape_run(kind) for kind in SHAPES}
    reference = runs["tuple + criterion"]
    assert reference.stop_reason == "diverged"
    for kind, result in runs.items():
        np.testing.assert_array_equal(result.lrs, reference.lrs, err_msg=kind)
        np.testing.assert_allclose(result.losses, reference.losses, rtol=1e-6, err_msg=kind)


@pytest.mark.parametrize(
    "batch, criterion, message",
    [
        (torch.ones(4, 9), torch.nn.MSELoss(), "a Tensor batch has no targets for the criterion"),
        ({"inputs": torch.ones(4, 8)}, torch.nn.MSELoss(), "needs its targets under one of"),
        ((torch.ones(4, 8),), torch.nn.MSELoss(), "must be \\(inputs, targets\\)"),
        ({"inputs": torch.ones(4, 8)}, None, "model\\(\\*\\*batch\\) gave no scalar loss"),
    ],
)
def test_a_batch_whose_loss_cannot_be_found_names_the_fix(batch, criterion, message):
    model = SelfLossLinear(8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises((TypeError, ValueError), match=message):
        range_test(model, optimizer, criterion, [batch], num_steps=5)


def test_bad_new_arguments():
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    calls = [
        (dict(batches=None), TypeError, "batches must be a re-iterable of batches"),
        (dict(loss_fn=3), TypeError, "loss_fn must be a callable loss_fn\\(model, batch\\)"),
        (
            dict(criterion=torch.nn.MSELoss(), loss_fn=lambda m, b: b),
            ValueError,
            "criterion must be None when loss_fn is given",
        ),
        (dict(amp_dtype=torch.float64), ValueError, "amp_dtype must be None, torch.bfloat16"),
        (dict(scaler="yes"), TypeError, "scaler must be a torch.amp.GradScaler or None"),
        (dict(val_loader={"x": 1}), TypeError, "val_loader must be a re-iterable"),
    ]
    for kwargs, error, message in calls:
        arguments = dict(criterion=None, batches=[(torch.ones(2, 2), torch.ones(2, 1))])
        arguments.update(kwargs)
        with pytest.raises(error, match=f"^range_test\\(\\): {message}"):
            range_test(model, optimizer, **arguments)


def test_validation_loss_is_the_loss_of_the_weights_each_update_is_applied_to():
    x_np, _y_np, x, y = _least_squares_torch(4)
    train = [(x, y)]
    results = []
    for val_loader in (None, train):
        model, optimizer = _setup(4, x_np)
        results.append(
            range_test(
                model,
                optimizer,
                torch.nn.MSELoss(),
                train,
                val_loader=val_loader,
                start_lr=1e-5,
                end_lr=10.0,
                num_steps=60,
            )
        )
    plain, validated = results
    # Full-batch GD validated on its own batch: step i's validation loss is the training
    # loss of step i, both computed on the weights before update i.
    np.testing.assert_array_equal(validated.lrs, plain.lrs)
    np.testing.assert_allclose(validated.losses, plain.losses, rtol=1e-6)
    assert validated.suggest() == pytest.approx(plain.suggest(), rel=1e-6)


def test_validation_loss_is_weighted_by_batch_size_and_runs_in_eval_mode():
    x_np, _y_np, x, y = _least_squares_torch(5, samples=100)
    model, optimizer = _setup(5, x_np)
    modes = []
    model.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    with torch.no_grad():
        expected = float(torch.nn.functional.mse_loss(model(x), y))
    modes.clear()
    val_loader = [(x[:10], y[:10]), (x[10:], y[10:])]  # 10 and 90 rows
    result = range_test(
        model,
        optimizer,
        torch.nn.MSELoss(),
        [(x, y)],
        val_loader=val_loader,
        start_lr=1e-9,
        end_lr=1e-8,
        num_steps=4,
        diverge_factor=None,
    )
    assert result.losses[0] == pytest.approx(expected, rel=1e-6)
    # Per step: two validation forwards in eval mode, then one training forward.
    assert modes[:3] == [False, False, True] and len(modes) == 12


def test_bfloat16_autocast_runs_the_forward_in_bfloat16_and_still_finds_the_lr():
    x_np, y_np, x, y = _least_squares_torch(0, kappa=100.0)
    model, optimizer = _setup(0, x_np)
    dtypes = []
    model.register_forward_hook(lambda module, args, output: dtypes.append(output.dtype))
    before = _state(model, optimizer)
    result = range_test(
        model,
        optimizer,
        torch.nn.MSELoss(),
        [(x, y)],
        start_lr=1e-6,
        end_lr=100.0,
        num_steps=100,
        amp_dtype=torch.bfloat16,
    )
    assert set(dtypes) == {torch.bfloat16}
    _assert_same_state(before, model, optimizer)
    divergence = 2.0 / largest_curvature(x_np)
    assert result.suggest() < divergence
    assert _constant_lr_loss_ratios(model, x_np, y_np, [result.suggest()])[0] <= 0.01


@pytest.mark.parametrize("enabled", [False, True])
def test_a_grad_scaler_gives_the_same_updates(enabled):
    # Scaling by a power of two and unscaling before the step is exact: the same curve.
    x_np, _y_np, x, y = _least_squares_torch(1)
    runs = []
    for scaler in (None, torch.amp.GradScaler("cpu", enabled=enabled)):
        model, optimizer = _setup(1, x_np)
        runs.append(
            range_test(
                model,
                optimizer,
                torch.nn.MSELoss(),
                [(x, y)],
                scaler=scaler,
                start_lr=1e-5,
                end_lr=10.0,
                num_steps=50,
                accumulation_steps=1,
            )
        )
    np.testing.assert_array_equal(runs[1].losses, runs[0].losses)


def test_the_scaler_skips_overflowing_updates_and_is_restored():
    x_np, _y_np, x, y = _least_squares_torch(2)
    model, optimizer = _setup(2, x_np)
    # 2**127 overflows float32 gradients: the scaler skips updates and shrinks its scale
    # by 0.9 until they fit, so the first losses stay put. Then it trains as usual.
    scaler = torch.amp.GradScaler(
        "cpu", init_scale=2.0**127, backoff_factor=0.9, growth_interval=1000
    )
    scaler_before = scaler.state_dict()
    result = range_test(
        model,
        optimizer,
        torch.nn.MSELoss(),
        [(x, y)],
        scaler=scaler,
        start_lr=1e-3,
        end_lr=10.0,
        num_steps=60,
    )
    skipped = int(np.sum(result.losses[1:] == result.losses[0]))
    assert 5 <= skipped < 40
    assert result.losses[-1] != result.losses[0]
    assert scaler.state_dict() == scaler_before


def test_amp_with_accumulation_counts_optimizer_steps():
    x_np, _y_np, x, y = _least_squares_torch(3)
    halves = [(x[0::2], y[0::2]), (x[1::2], y[1::2])]
    model, optimizer = _setup(3, x_np)
    steps = []
    optimizer.register_step_post_hook(lambda opt, args, kwargs: steps.append(1))
    result = range_test(
        model,
        optimizer,
        torch.nn.MSELoss(),
        halves,
        accumulation_steps=2,
        amp_dtype=torch.bfloat16,
        scaler=torch.amp.GradScaler("cpu", enabled=False),
        start_lr=1e-5,
        end_lr=10.0,
        num_steps=40,
    )
    assert len(steps) == result.lrs.size


def test_everything_is_left_as_found():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.BatchNorm1d(8),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(8, 1),
    )
    model.train()
    model[1].eval()  # a frozen norm layer inside a training model
    lr = torch.tensor(1e-3)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    torch.nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()
    moment = optimizer.state[model[0].weight]["exp_avg"]
    grad = model[0].weight.grad.clone()
    before = _state(model, optimizer)
    modes = [module.training for module in model.modules()]
    range_test(model, optimizer, torch.nn.MSELoss(), [(x, y)], num_steps=30)
    _assert_same_state(before, model, optimizer)
    assert [module.training for module in model.modules()] == modes
    assert optimizer.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(1e-3)
    assert optimizer.state[model[0].weight]["exp_avg"] is moment
    assert torch.equal(model[0].weight.grad, grad)


def test_a_hugging_face_model_from_its_batches():
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=2,
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, 50, (64, 12), generator=generator)
    labels = (input_ids[:, 0] > 25).long()  # learnable from the first token
    mask = torch.ones(16, 12, dtype=torch.long)
    batches = [
        {"input_ids": input_ids[i::4], "attention_mask": mask, "labels": labels[i::4]}
        for i in range(4)
    ]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    before = _state(model, optimizer)
    result = range_test(model, optimizer, batches=batches, start_lr=1e-6, end_lr=10.0, num_steps=60)
    _assert_same_state(before, model, optimizer)
    assert result.losses[0] == pytest.approx(np.log(2.0), abs=0.2)  # chance on 2 classes
    assert result.smoothed_losses.min() < result.losses[0]
    assert 1e-6 < result.suggest() < 10.0
