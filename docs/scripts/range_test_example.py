"""Regenerate docs/images/range_test.png: the worked example of docs/range-test.md.

Run from the repository root: python docs/scripts/range_test_example.py
"""

import pathlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import torch

from lrsched.adapters._range_test_torch import range_test


def spirals(samples_per_class=200, classes=3, seed=0):
    """Three interleaved noisy spirals: a small problem a linear model cannot solve."""
    generator = torch.Generator().manual_seed(seed)
    radius = torch.linspace(0.05, 1.0, samples_per_class)
    points, labels = [], []
    for label in range(classes):
        angle = (
            torch.linspace(0.0, 4.0, samples_per_class)
            + label * 2.1
            + 0.2 * torch.randn(samples_per_class, generator=generator)
        )
        points.append(torch.stack([radius * torch.sin(angle), radius * torch.cos(angle)], 1))
        labels.append(torch.full((samples_per_class,), label))
    return torch.cat(points), torch.cat(labels)


def example():
    torch.manual_seed(0)
    x, y = spirals()
    batches = [(x[i::8], y[i::8]) for i in range(8)]  # 8 mini-batches of 75
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    result = range_test(
        model,
        optimizer,
        torch.nn.CrossEntropyLoss(),
        batches,
        start_lr=1e-5,
        end_lr=100.0,
        num_steps=150,
    )
    return model, optimizer, x, y, batches, result


if __name__ == "__main__":
    *_, result = example()
    figure, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    result.plot(ax=ax)
    ax.set_title("LR range test: 3-spirals MLP, SGD momentum 0.9")
    figure.tight_layout()
    target = pathlib.Path(__file__).resolve().parents[1] / "images" / "range_test.png"
    figure.savefig(target)
    print(
        result,
        {
            method: f"{result.suggest(method):.3g}"
            for method in ("divergence", "minimum", "steep", "valley")
        },
        target,
    )
