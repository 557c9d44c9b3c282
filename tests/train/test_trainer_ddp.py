"""The Trainer under torchrun (two CPU processes, gloo): DDP keeps the replicas identical, the
metrics are summed over processes, and only rank 0 writes its checkpoint."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

SRC = Path(__file__).resolve().parents[2] / "src"

WORKER = textwrap.dedent("""
    import sys
    import torch
    import torch.distributed as dist
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler
    from fullspike.train import Checkpoint, Trainer

    dist.init_process_group("gloo")
    rank, out = dist.get_rank(), sys.argv[1]
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(64, 8, generator=g), torch.randint(0, 4, (64,), generator=g))
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    if rank == 1:  # different initial weights: DDP must broadcast rank 0's
        nn.init.zeros_(model[0].weight)
    loader = DataLoader(data, batch_size=8, sampler=DistributedSampler(data, seed=0))
    trainer = Trainer(model, nn.functional.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.1), loader,
                      DataLoader(data, batch_size=32), callbacks=[Checkpoint(f"{out}/ckpt.pt")], epochs=2,
                      distributed=True)  # explicit: DDP over the process group
    trainer.fit()
    torch.save({"model": model.state_dict(), "history": trainer.history,
                "checkpoint": str(trainer.last_checkpoint)}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()
""")


@pytest.mark.slow
def test_trainer_data_parallel_on_two_processes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(script),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{i}.pt", weights_only=False) for i in (0, 1))
    assert all(torch.equal(r0["model"][k], r1["model"][k]) for k in r0["model"])
    assert [h["train_loss"] for h in r0["history"]] == [h["train_loss"] for h in r1["history"]]  # all-reduced
    assert "val_accuracy" in r0["history"][-1] and "val_accuracy" not in r1["history"][-1]  # rank 0 evaluates
    assert r0["checkpoint"].endswith("ckpt.pt") and r1["checkpoint"] == "None"
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert saved["epoch"] == 2 and all(torch.equal(saved["model"][k], r0["model"][k]) for k in r0["model"])
