"""ScheduleLR in the Hugging Face Trainer (with accelerate): ``optimizers=(optimizer,
scheduler)`` with a step schedule and with a plateau on the evaluation metric, and
``resume_from_checkpoint``. The model is a tiny BERT built from a config (no download).
In the framework suite (``pytest -m frameworks``)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [
    pytest.mark.frameworks,
    # transformers' own advice on CPU runs, nothing about schedulers.
    pytest.mark.filterwarnings("ignore::UserWarning:transformers"),
]
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

# After the importorskip calls (E402), so the file skips where transformers is missing.
import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

import lrsched  # noqa: E402
from lrsched.adapters.torch import ScheduleLR  # noqa: E402

STEPS, EVAL_EVERY, KILL = 24, 4, 12
STEP_SCHEDULE = lrsched.warmup(lrsched.one_cycle(1e-3, total_steps=STEPS - 4), 4)
PLATEAU = lrsched.plateau(1e-3, patience=0, factor=0.5, threshold=0.05)


def tiny_bert() -> torch.nn.Module:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        num_labels=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForSequenceClassification(config)


class Tokens(torch.utils.data.Dataset):
    """Random token sequences whose label is whether token 7 occurs."""

    def __init__(self, size: int, seed: int):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 40, (size, 8), generator=generator)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        ids = self.ids[index]
        return {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "labels": int((ids == 7).any()),
        }


class Record(TrainerCallback):
    """What each optimizer step uses: LR and beta1 of the first param group."""

    def __init__(self):
        self.used = []

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        group = optimizer.param_groups[0]
        self.used.append([float(group["lr"]), float(group["betas"][0])])


class StopAt(TrainerCallback):
    """A kill right after the checkpoint at step ``step`` is written."""

    def __init__(self, step):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def run(schedule, out, resume=None, stop_at=None):
    model = tiny_bert()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = ScheduleLR(optimizer, schedule)
    plateau = isinstance(schedule, lrsched.plateau)
    args = TrainingArguments(
        output_dir=str(out),
        max_steps=STEPS,
        per_device_train_batch_size=4,
        logging_steps=1,
        save_strategy="steps",
        save_steps=KILL,
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
        dataloader_num_workers=0,
        eval_strategy="steps" if plateau else "no",
        eval_steps=EVAL_EVERY,
        metric_for_best_model="loss" if plateau else None,
        per_device_eval_batch_size=8,
    )
    record = Record()
    callbacks = [record] + ([StopAt(stop_at)] if stop_at else [])
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=Tokens(96, 0),
        eval_dataset=Tokens(32, 1),
        optimizers=(optimizer, scheduler),
        callbacks=callbacks,
    )
    trainer.train(resume_from_checkpoint=resume)
    return trainer, record.used


def logged(trainer, key):
    return [row[key] for row in trainer.state.log_history if key in row]


def test_a_step_schedule_sets_every_optimizer_step(tmp_path):
    trainer, used = run(STEP_SCHEDULE, tmp_path)
    steps = np.arange(STEPS)
    assert [lr for lr, _ in used] == STEP_SCHEDULE(steps).tolist()
    # warmup(one_cycle) is not a one_cycle: no momentum cycling, beta1 untouched.
    assert {beta1 for _, beta1 in used} == {0.9}
    assert logged(trainer, "learning_rate") == STEP_SCHEDULE(steps).tolist()
    assert trainer.lr_scheduler.last_epoch == STEPS


def test_a_plateau_is_stepped_with_the_evaluation_metric(tmp_path):
    trainer, used = run(PLATEAU, tmp_path)
    assert isinstance(trainer.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    losses = logged(trainer, "eval_loss")
    assert len(losses) == STEPS // EVAL_EVERY
    per_evaluation = [PLATEAU.init().lr, *PLATEAU.replay(losses).tolist()]
    expected = [per_evaluation[step // EVAL_EVERY] for step in range(STEPS)]
    assert [lr for lr, _ in used] == expected
    assert logged(trainer, "learning_rate") == expected
    assert min(expected) < max(expected)  # it did reduce


@pytest.mark.parametrize(
    "schedule", [lrsched.one_cycle(1e-3, STEPS), PLATEAU], ids=["one_cycle", "plateau"]
)
def test_resume_from_checkpoint_continues_exactly(schedule, tmp_path):
    straight, straight_used = run(schedule, tmp_path / "straight")
    _, first_used = run(schedule, tmp_path / "killed", stop_at=KILL)
    assert len(first_used) == KILL
    resumed, resumed_used = run(
        schedule, tmp_path / "killed", resume=str(tmp_path / "killed" / f"checkpoint-{KILL}")
    )
    assert first_used + resumed_used == straight_used
    assert resumed.lr_scheduler.state_dict() == straight.lr_scheduler.state_dict()
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
