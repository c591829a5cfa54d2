"""Gradient descent on quadratics f(w) = 1/2 w^T A w, whose best LRs are known analytically.

GD diverges for a constant lr > 2/L (L the largest eigenvalue of A). GD and isotropic
gradient noise are rotation invariant, so A is taken diagonal (its spectrum) without loss
of generality: eigenvalues log-uniform in [L/kappa, L], the hardest spread for a single LR.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

import lrsched

# "A few hundred steps" for the constant-LR check, and the grid it is compared against.
CONSTANT_STEPS = 300
GRID = np.geomspace(1e-3, 1.99, 60)  # in units of 1/L


@dataclasses.dataclass(frozen=True)
class Quadratic:
    eigenvalues: np.ndarray
    start: np.ndarray
    noise_sigma: float  # std of isotropic gradient noise
    loss_noise: float  # relative std of the reported (minibatch-like) loss
    seed: int

    @property
    def L(self) -> float:
        return float(self.eigenvalues.max())

    def loss(self, w: np.ndarray) -> np.ndarray:
        return 0.5 * np.sum(self.eigenvalues * w * w, axis=-1)

    def train_step(self, *, scale: float = 1.0, offset: float = 0.0, stream: int = 0):
        """A ``train_step(lr) -> loss`` closure: one noisy GD step, reporting a*loss + b."""
        rng = np.random.default_rng([self.seed, stream])
        w = self.start.copy()

        def step(lr: float) -> float:
            nonlocal w
            loss = float(self.loss(w))
            if self.loss_noise:
                loss *= 1.0 + self.loss_noise * rng.standard_normal()
            gradient = self.eigenvalues * w
            if self.noise_sigma:
                gradient = gradient + self.noise_sigma * rng.standard_normal(w.size)
            with np.errstate(over="ignore", invalid="ignore"):
                w = w - lr * gradient
            return scale * loss + offset

        return step

    def constant_lr_losses(self, lrs) -> np.ndarray:
        """Loss after CONSTANT_STEPS GD steps at each constant LR, relative to the start."""
        rng = np.random.default_rng([self.seed, 7])
        lrs = np.asarray(lrs, dtype=np.float64)[:, None]
        w = np.repeat(self.start[None, :], lrs.shape[0], axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(CONSTANT_STEPS):
                gradient = self.eigenvalues * w
                if self.noise_sigma:
                    gradient = gradient + self.noise_sigma * rng.standard_normal(w.shape)
                w = w - lrs * gradient
            final = self.loss(w) / self.loss(self.start)
        return np.where(np.isfinite(final), final, np.inf)

    def grid_best_lr(self) -> float:
        lrs = GRID / self.L
        return float(lrs[int(np.argmin(self.constant_lr_losses(lrs)))])


def quadratic(seed: int, *, kappa: float, L: float, noise: float = 0.0, dim: int = 40) -> Quadratic:
    """``noise``: gradient noise whose stationary loss at lr = 1/L is ``noise`` * f(w0)."""
    rng = np.random.default_rng(seed)
    eigenvalues = L * kappa ** -np.linspace(0.0, 1.0, dim)
    start = rng.standard_normal(dim)
    f0 = 0.5 * float(np.sum(eigenvalues * start * start))
    # Stationary loss of GD with noise sigma at lr: sum_k lr sigma^2 / (2 (2 - lr lambda_k)),
    # about dim * sigma^2 / (4 L) at lr = 1/L.
    sigma = math.sqrt(noise * f0 * 4.0 * L / dim) if noise else 0.0
    return Quadratic(eigenvalues, start, sigma, 0.1 if noise else 0.0, seed)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """How one default suggestion fares against the analytic answers."""

    suggestion: float
    ratio_to_divergence: float  # suggestion / (2/L), must be < 1
    loss_cut: float  # loss after CONSTANT_STEPS at the suggestion / f(w0), must be <= 0.01
    grid_best_over_suggestion: float  # must be <= 30

    @property
    def passes(self) -> bool:
        return (
            self.ratio_to_divergence < 1.0
            and self.loss_cut <= 0.01
            and self.grid_best_over_suggestion <= 30.0
        )


def judge(problem: Quadratic, suggestion: float) -> Verdict:
    cut = float(problem.constant_lr_losses([suggestion])[0])
    return Verdict(
        suggestion, suggestion * problem.L / 2.0, cut, problem.grid_best_lr() / suggestion
    )


def run(problem: Quadratic, *, num_steps: int, **kwargs) -> lrsched.RangeTestResult:
    return lrsched.range_test(
        problem.train_step(**kwargs), start_lr=1e-7, end_lr=10.0, num_steps=num_steps
    )
