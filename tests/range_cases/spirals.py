"""Three interleaved noisy spirals: a small problem a linear model cannot solve.

Shared by the torch and Keras validation runs: a range test on a real MLP, then the same
MLP trained from the same start at the suggestion and at a grid of constant LRs.
"""

import numpy as np

GRID = (0.003, 0.01, 0.03, 0.06, 0.13, 0.25, 0.5, 1.0, 2.0)
TRAIN_STEPS = 400


def spirals(samples_per_class: int = 200, classes: int = 3, seed: int = 0):
    """(points float32 (n, 2), labels int64 (n,)), classes interleaved."""
    rng = np.random.default_rng(seed)
    radius = np.linspace(0.05, 1.0, samples_per_class)
    points, labels = [], []
    for label in range(classes):
        angle = (
            np.linspace(0.0, 4.0, samples_per_class)
            + label * 2.1
            + 0.2 * rng.standard_normal(samples_per_class)
        )
        points.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], 1))
        labels.append(np.full(samples_per_class, label))
    return np.concatenate(points).astype(np.float32), np.concatenate(labels).astype(np.int64)


def table(suggestion: float, final_losses: dict, start_loss: float) -> str:
    """The figures as one printable table: final loss per constant LR, suggestion marked."""
    rows = [f"start loss {start_loss:.3f}; suggestion {suggestion:.3g}"]
    for lr, loss in sorted(final_losses.items()):
        rows.append(
            f"  lr {lr:<8.3g} loss after {TRAIN_STEPS} steps {loss:.4f}"
            + ("   <- suggestion" if lr == suggestion else "")
        )
    return "\n".join(rows)
