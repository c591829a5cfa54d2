"""The range test on a real MLP: training at the suggestion against a grid of constant LRs.

Slow (a range test plus ten 400-step trainings); ``pytest -m slow -s`` prints the table.
"""

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from range_cases.spirals import GRID, TRAIN_STEPS, spirals, table  # noqa: E402

from lrsched.adapters._range_test_torch import range_test  # noqa: E402


def _mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )


def _train(model, batches, lr, steps=TRAIN_STEPS):
    """Constant-LR SGD with momentum from the model's current weights; the final full loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    for step in range(steps):
        x, y = batches[step % len(batches)]
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        x = torch.cat([b[0] for b in batches])
        y = torch.cat([b[1] for b in batches])
        loss = float(criterion(model(x), y))
    return loss if np.isfinite(loss) else np.inf


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_training_at_the_suggestion_is_close_to_the_best_constant_lr(seed):
    x_np, y_np = spirals(seed=seed)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    batches = [(x[i::8], y[i::8]) for i in range(8)]
    model = _mlp(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    start = {name: value.clone() for name, value in model.state_dict().items()}
    result = range_test(
        model,
        optimizer,
        torch.nn.CrossEntropyLoss(),
        batches,
        start_lr=1e-5,
        end_lr=100.0,
        num_steps=150,
    )
    suggestion = result.suggest()
    finals = {}
    for lr in (*GRID, suggestion):
        model.load_state_dict(start)
        finals[lr] = _train(model, batches, lr)
    with torch.no_grad():
        model.load_state_dict(start)
        start_loss = float(torch.nn.CrossEntropyLoss()(model(x), y))
    print(f"\ntorch, seed {seed}: " + table(suggestion, finals, start_loss), file=sys.stderr)
    methods = {m: result.suggest(m) for m in ("minimum", "steep", "valley", "slide")}
    print(
        "  other methods: " + ", ".join(f"{m} {v:.3g}" for m, v in methods.items()), file=sys.stderr
    )
    best_lr = min(GRID, key=lambda lr: finals[lr])
    failing = [lr for lr in GRID if lr > best_lr and finals[lr] >= start_loss / 2]
    assert finals[suggestion] <= start_loss / 20  # trains well
    assert best_lr / suggestion <= 30.0  # the quadratics' criterion
    assert not failing or suggestion <= min(failing) / 2  # clear of the LRs that fail
