"""The torch range-test driver on least squares, where the divergence LR 2/L is known."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrsched.adapters._range_test_torch import range_test  # noqa: E402
from range_cases.least_squares import largest_curvature, least_squares_data  # noqa: E402


def _setup(seed, x):
    torch.manual_seed(seed)
    model = torch.nn.Linear(x.shape[1], 1)
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def _constant_lr_loss_ratios(model, x, y, lrs, steps=300):
    """Full-batch GD on the same least squares from the model's start, in float64 numpy
    (vectorized over the LRs: the torch driver is what is under test, not this check)."""
    design = np.hstack([x.astype(np.float64), np.ones((x.shape[0], 1))])
    start = np.concatenate([model.weight.detach().numpy().ravel(),
                            model.bias.detach().numpy().ravel()]).astype(np.float64)
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
    result = range_test(model, optimizer, torch.nn.MSELoss(), [(x, y)], start_lr=1e-6,
                        end_lr=100.0, num_steps=100)
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
        results.append(range_test(model, optimizer, torch.nn.MSELoss(), batches,
                                  start_lr=1e-5, end_lr=10.0, num_steps=50,
                                  accumulation_steps=accumulation))
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
    x_np, y_np = least_squares_data(0)
    model, optimizer = _setup(0, x_np)
    with pytest.raises(ValueError, match="accumulation_steps must be a positive integer"):
        range_test(model, optimizer, torch.nn.MSELoss(), [], accumulation_steps=0)
    with pytest.raises(ValueError, match="batches yielded no batches"):
        range_test(model, optimizer, torch.nn.MSELoss(), [])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        range_test(object(), optimizer, torch.nn.MSELoss(), [])


def test_a_dataloader_is_iterated_again_when_it_runs_out():
    x_np, y_np = least_squares_data(3, samples=64)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x_np), torch.from_numpy(y_np))
    loader = torch.utils.data.DataLoader(dataset, batch_size=16)  # 4 batches per pass
    model, optimizer = _setup(3, x_np)
    result = range_test(model, optimizer, torch.nn.MSELoss(), loader, start_lr=1e-9,
                        end_lr=1e-8, num_steps=10, diverge_factor=None)
    assert result.lrs.size == 10
    # A negligible LR leaves the model as it is: batch i and batch i + 4 are the same.
    np.testing.assert_allclose(result.losses[:6], result.losses[4:], rtol=1e-5)
