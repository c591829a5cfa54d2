"""ScheduleLR in real Lightning fits: step schedules per optimizer step, plateaus on the
monitored metric with no extra flag, LearningRateMonitor, ``ckpt_path`` resume and DDP on
2 CPU processes. In the framework suite (``pytest -m frameworks``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.frameworks,
    # Lightning's own use of a deprecated torch pytree name.
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*"),
]
L = pytest.importorskip("lightning")

import torch  # noqa: E402

import lrsched  # noqa: E402
from lrsched.adapters.torch import ScheduleLR  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "framework_cases"
sys.path.insert(0, str(CASES))
import lightning_case as case  # noqa: E402

EPOCHS = 4


def fit(schedule, out, epochs=EPOCHS, ckpt_path=None):
    case.quiet()
    module = case.Regression(schedule)
    trainer = case.trainer(out, epochs)
    trainer.fit(module, case.data(), case.data(seed=1), ckpt_path=ckpt_path)
    return module, trainer


def plateau_lrs_per_step(plateau, val_losses, batches):
    """The LR each step of each epoch should use: the state after the previous epochs."""
    per_epoch = [plateau.init().lr, *plateau.replay(val_losses).tolist()]
    return [lr for lr in per_epoch[: len(val_losses)] for _ in range(batches)]


def test_a_step_schedule_sets_every_optimizer_step_and_the_monitor_logs_it(tmp_path):
    module, trainer = fit(case.STEP_SCHEDULE, tmp_path)
    steps = np.arange(EPOCHS * case.BATCHES)
    assert [lr for lr, _ in module.used] == case.STEP_SCHEDULE(steps).tolist()
    assert [beta1 for _, beta1 in module.used] == case.STEP_SCHEDULE.momentum()(steps).tolist()
    monitor = trainer.callbacks[0]
    assert isinstance(monitor, L.pytorch.callbacks.LearningRateMonitor)
    assert monitor.lrs["lr-AdamW"] == case.STEP_SCHEDULE(steps).tolist()
    assert trainer.lr_scheduler_configs[0].interval == "step"
    assert not trainer.lr_scheduler_configs[0].reduce_on_plateau


def test_a_plateau_is_stepped_with_the_monitored_metric_with_no_extra_flag(tmp_path):
    module, trainer = fit(case.PLATEAU, tmp_path)
    config = trainer.lr_scheduler_configs[0]
    assert config.reduce_on_plateau and config.monitor == "val_loss"
    assert len(module.val_losses) == EPOCHS
    expected = plateau_lrs_per_step(case.PLATEAU, module.val_losses, case.BATCHES)
    assert [lr for lr, _ in module.used] == expected
    assert trainer.callbacks[0].lrs["lr-AdamW"] == expected
    assert config.scheduler.get_last_lr() == [case.PLATEAU.replay(module.val_losses)[-1]]
    assert min(expected) < max(expected)  # it did reduce


@pytest.mark.parametrize("kind", ["step", "plateau"])
def test_ckpt_path_resume_continues_the_trajectory_exactly(kind, tmp_path):
    schedule = case.STEP_SCHEDULE if kind == "step" else case.PLATEAU
    straight, _ = fit(schedule, tmp_path / "straight")
    first, trainer = fit(schedule, tmp_path / "first", epochs=2)
    checkpoint = tmp_path / "half.ckpt"
    trainer.save_checkpoint(checkpoint)
    resumed, _ = fit(schedule, tmp_path / "resumed", ckpt_path=str(checkpoint))
    assert first.used + resumed.used == straight.used
    assert first.val_losses + resumed.val_losses == straight.val_losses
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    # The checkpoint holds the scheduler's own state, plain numbers only.
    saved = torch.load(checkpoint, weights_only=True)["lr_schedulers"][0]
    assert saved["format"] == "lrsched.ScheduleLR/1" and saved["last_epoch"] == (
        2 * case.BATCHES if kind == "step" else 2
    )


def test_ddp_on_two_cpu_processes(tmp_path):
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        OMP_NUM_THREADS="1",
    )
    done = subprocess.run(
        [sys.executable, str(CASES / "lightning_case.py"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # With a DistributedSampler each rank sees half the batches per epoch.
    steps = np.arange(EPOCHS * case.BATCHES // 2)
    for rank in range(2):
        step = json.loads((tmp_path / f"step-rank{rank}.json").read_text())
        assert step["world_size"] == 2
        assert [lr for lr, _ in step["used"]] == case.STEP_SCHEDULE(steps).tolist()
        assert [b for _, b in step["used"]] == case.STEP_SCHEDULE.momentum()(steps).tolist()
        plateau = json.loads((tmp_path / f"plateau-rank{rank}.json").read_text())
        assert [lr for lr, _ in plateau["used"]] == plateau_lrs_per_step(
            case.PLATEAU, plateau["val_losses"], case.BATCHES // 2
        )
    ranks = [json.loads((tmp_path / f"plateau-rank{r}.json").read_text()) for r in range(2)]
    assert ranks[0]["val_losses"] == ranks[1]["val_losses"]  # sync_dist=True
    # LearningRateMonitor logs on rank 0 only.
    monitored = json.loads((tmp_path / "step-rank0.json").read_text())["monitor"]
    assert monitored == case.STEP_SCHEDULE(steps).tolist()


def test_schedule_lr_is_accepted_by_lightning_without_a_custom_lr_scheduler_step():
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    for schedule in (lrsched.cosine(0.1, 10), lrsched.plateau(0.1)):
        assert isinstance(
            ScheduleLR(optimizer, schedule), L.pytorch.utilities.types.LRSchedulerTypeTuple
        )
