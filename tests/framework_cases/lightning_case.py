"""A small LightningModule driven by ScheduleLR, for the Lightning tests.

Imported by tests/test_frameworks_lightning.py for single-process fits, and run as a
script for DDP (Lightning's "ddp" strategy starts the other rank by running this file
again):

    python lightning_case.py OUT_DIR

which fits a step schedule and a plateau on 2 CPU processes and writes what each rank's
optimizer used to OUT_DIR/<run>-rank<r>.json.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import CSVLogger

import lrsched
from lrsched.adapters.torch import ScheduleLR

BATCHES = 8  # per epoch, on one process
STEP_SCHEDULE = lrsched.one_cycle(0.05, total_steps=4 * BATCHES)
PLATEAU = lrsched.plateau(0.05, patience=0, factor=0.5, threshold=0.05)


class Regression(L.LightningModule):
    """Linear regression; records the LR and beta1 each optimizer step uses."""

    def __init__(self, schedule):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
        )
        self.schedule = schedule
        self.used = []  # [lr, beta1] per optimizer step
        self.val_losses = []  # the monitored metric, per validation

    def forward(self, inputs):
        return self.net(inputs)

    def training_step(self, batch, batch_index):
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self(inputs), targets)

    def validation_step(self, batch, batch_index):
        inputs, targets = batch
        # sync_dist: every rank's plateau must see the same metric.
        self.log("val_loss", torch.nn.functional.mse_loss(self(inputs), targets), sync_dist=True)

    def on_before_optimizer_step(self, optimizer):
        group = optimizer.param_groups[0]
        self.used.append([float(group["lr"]), float(group["betas"][0])])

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=0.05)
        scheduler = ScheduleLR(optimizer, self.schedule)
        if isinstance(self.schedule, lrsched.plateau):
            # No "reduce_on_plateau" flag: Lightning sees a ReduceLROnPlateau.
            config = {"scheduler": scheduler, "monitor": "val_loss"}
        else:
            config = {"scheduler": scheduler, "interval": "step"}
        return {"optimizer": optimizer, "lr_scheduler": config}


class RecordMetric(L.Callback):
    """The monitored value after each validation, as Lightning hands it to the scheduler."""

    def on_validation_end(self, trainer, module):
        if not trainer.sanity_checking:
            module.val_losses.append(float(trainer.callback_metrics["val_loss"]))


def data(samples: int = 8 * BATCHES, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(samples, 4, generator=generator)
    targets = inputs.sum(dim=1, keepdim=True) + 0.5 * torch.randn(samples, 1, generator=generator)
    dataset = torch.utils.data.TensorDataset(inputs, targets)
    return torch.utils.data.DataLoader(dataset, batch_size=8)


def trainer(out: Path, epochs: int, **options) -> L.Trainer:
    return L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=CSVLogger(out),
        log_every_n_steps=1,
        callbacks=[LearningRateMonitor(logging_interval="step", log_momentum=True), RecordMetric()],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
        deterministic=True,
        **options,
    )


def quiet() -> None:
    # Lightning's advice about dataloader workers and CPU threads, not about schedulers.
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*GPU available but not used.*")


def ddp_main(out: Path) -> None:
    quiet()
    for name, schedule in (("step", STEP_SCHEDULE), ("plateau", PLATEAU)):
        module = Regression(schedule)
        fit = trainer(out / name, 4, devices=2, strategy="ddp")
        fit.fit(module, data(), data(seed=1))
        monitor = fit.callbacks[0]
        record = {
            "used": module.used,
            "val_losses": module.val_losses,
            "monitor": monitor.lrs.get("lr-AdamW"),
            "world_size": fit.world_size,
        }
        (out / f"{name}-rank{fit.global_rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    ddp_main(Path(sys.argv[1]))
