"""Least squares whose Hessian, hence the GD divergence LR 2/L, is known from the data."""

import numpy as np


def least_squares_data(
    seed: int, *, samples: int = 256, features: int = 8, kappa: float = 100.0, noise: float = 0.01
):
    """X with column scales giving Hessian condition number ~kappa; y = X w* + noise."""
    rng = np.random.default_rng(seed)
    scales = kappa ** (-0.5 * np.linspace(0.0, 1.0, features))
    x = rng.standard_normal((samples, features)) * scales
    y = x @ rng.standard_normal(features) + noise * rng.standard_normal(samples)
    return x.astype(np.float32), y.astype(np.float32).reshape(-1, 1)


def largest_curvature(x: np.ndarray) -> float:
    """L of mean((X w + b - y)^2): the top eigenvalue of 2 [X 1]^T [X 1] / n."""
    design = np.hstack([x.astype(np.float64), np.ones((x.shape[0], 1))])
    return float(np.linalg.eigvalsh(2.0 * design.T @ design / x.shape[0]).max())
