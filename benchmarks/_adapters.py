"""Section 3: what an adapter adds to each optimizer step.

Torch: ``ScheduleLR.step()`` against the family's own torch scheduler ``step()``, both on
a real optimizer, next to one ``optimizer.step()`` of a small model (a 2-layer MLP with
gradients in place). Keras: the time of a ``fit`` step with ``KerasSchedule`` against the
same model with Keras's own ``CosineDecay`` (run in a separate interpreter, see
``_keras_worker``).
"""

from __future__ import annotations

import warnings

from _families import FAMILIES
from _timing import ratio, rounds, seconds

# Long enough that no schedule ends (OneCycleLR raises past total_steps) while timing.
_HORIZON = 10**7


def _not_available(what: str, error: Exception) -> dict:
    return {
        "section": "adapters",
        "family": "-",
        "measure": what,
        "median": None,
        "note": f"adapter not available ({type(error).__name__}: {error})",
    }


def torch_rows(config, log) -> list[dict]:
    try:
        import torch

        from lrsched.adapters.torch import ScheduleLR
    except ImportError as error:
        log(f"  torch adapter not available: {error}")
        return [_not_available("ScheduleLR.step() / torch scheduler step()", error)]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter)
    rows = []
    steps_per_call = config.adapter_steps
    for family in config.families(FAMILIES):
        if family.torch is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            native = family.torch(optimizer, _HORIZON)
            ours_optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            schedule = family.lrsched(_HORIZON)
            options = {}
            if family.torch_reads == "momentum":
                # The LR schedule, with its momentum cycle switched on, as torch does it.
                schedule, options = schedule.schedule, {"cycle_momentum": True}
            try:
                ours = ScheduleLR(ours_optimizer, schedule, **options)
            except (TypeError, ValueError) as error:
                rows.append(
                    {
                        "section": "adapters",
                        "family": family.name,
                        "measure": "ScheduleLR.step() / torch step()",
                        "median": None,
                        "note": f"ScheduleLR refused it: {error}",
                    }
                )
                continue

            def stepping(scheduler):
                def run():
                    step = scheduler.step
                    for _ in range(steps_per_call):
                        step()

                return run

            def optimizing(optimizer=optimizer):
                step = optimizer.step
                for _ in range(steps_per_call):
                    step()

            times = rounds(
                {
                    "ScheduleLR": stepping(ours),
                    "torch scheduler": stepping(native),
                    "optimizer.step": optimizing,
                },
                repeats=config.repeats,
                min_seconds=config.min_seconds,
            )
        per_step_us = {
            name: 1e6 * seconds(values)["median"] / steps_per_call for name, values in times.items()
        }
        adapter = ratio(times, "ScheduleLR", "torch scheduler")
        rows.append(
            {
                "section": "adapters",
                "family": family.name,
                "measure": "ScheduleLR.step() / torch step()",
                **adapter,
                "target": "<= 0.25",
                "pass": adapter["median"] <= 0.25,
                "us_per_step": per_step_us,
            }
        )
        rows.append(
            {
                "section": "adapters",
                "family": family.name,
                "measure": "ScheduleLR.step() / optimizer.step() (small MLP)",
                **ratio(times, "ScheduleLR", "optimizer.step"),
            }
        )
        log(
            f"  adapter {family.name:<18} ScheduleLR {per_step_us['ScheduleLR']:.2f} us, "
            f"torch {per_step_us['torch scheduler']:.2f} us, "
            f"optimizer.step {per_step_us['optimizer.step']:.2f} us"
        )
    return rows
