"""ScheduleLR under torch.distributed: DDP and FSDP2 on 2 CPU processes (gloo), by torchrun.

Every rank must use exactly the schedule's values, agree with the other rank, and resume
from a checkpoint as if never stopped; a plateau driven by the metric averaged over the
ranks must reduce on both at once. In the framework suite (``pytest -m frameworks``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lrsched

pytestmark = pytest.mark.frameworks

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests" / "framework_cases" / "distributed_case.py"
STEPS = 30
SCHEDULE = lrsched.one_cycle(0.05, total_steps=STEPS)
PLATEAU = lrsched.plateau(lrsched.warmup(lrsched.constant(0.05), steps=2), patience=1, factor=0.5)


def torchrun(script: Path, *args: str, processes: int = 2, timeout: int = 300):
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        OMP_NUM_THREADS="1",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={processes}",
            "--standalone",
            str(script),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.parametrize("mode", ["ddp", "fsdp"])
def test_every_rank_uses_the_schedule_and_resumes_exactly(mode, tmp_path):
    torchrun(CASE, mode, str(tmp_path))
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    steps = np.arange(STEPS)
    for rank in ranks:
        assert [lr for lr, _ in rank["straight"]] == SCHEDULE(steps).tolist()
        assert [beta1 for _, beta1 in rank["straight"]] == SCHEDULE.momentum()(steps).tolist()
        assert rank["resumed"] == rank["straight"]
        assert rank["resumed_parameters"] == rank["straight_parameters"]
    # Gradients are averaged over ranks, so the replicas stay identical.
    assert ranks[0]["straight_parameters"] == ranks[1]["straight_parameters"]
    if mode == "ddp":
        plateau = ranks[0]["plateau"]
        assert ranks[1]["plateau"] == plateau
        assert plateau["lrs"] == PLATEAU.replay(plateau["metrics"]).tolist()
        assert min(plateau["lrs"]) < max(plateau["lrs"])  # it did reduce
