"""Fault injection (issue 12): SIGKILL a small training run at random moments, some of them
inside checkpoint saves, resume it with ``fullspike train ... --resume``, and check that its final
weights are bit-identical (``torch.equal`` on every tensor of the state dict) to those of an
uninterrupted run.

    OMP_NUM_THREADS=1 python scripts/fault_injection.py --kills 20 --out runs/fault_injection

writes ``fault_injection.json`` and ``fault_injection.md`` (one row per kill) to ``--out``.

Each kill is a fresh run of the shipped ``quickstart`` config shrunk by :data:`TRAIN` (a few seconds).
Training runs in a child process that pauses ``--pause`` seconds between writing the checkpoint's
temporary file and renaming it over ``checkpoint.pt``, so that kills inside a save can be aimed;
the pause changes no numbers. A kill is aimed either at a random time in the training window
(from ``config.json`` appearing to the end of the uninterrupted run) or inside the k-th save (a
random moment while its temporary file exists). After the kill the run is resumed with
``--resume`` (started again with ``--overwrite``, as ``--resume`` then tells a user, when it was
killed before its first checkpoint).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "src" / "fullspike" / "configs" / "quickstart.yaml"
TRAIN = [
    "model.T=2",
    "model.width=8",
    "model.hidden=32",
    "data.train_subset=512",
    "data.test_subset=64",
    "data.batch_size=32",
    "train.epochs=6",
    "train.tensorboard=false",
]
CHECKPOINT = "checkpoint.pt"


# ------------------------------------------------------------------------------------- the child
def child(pause: float, argv: list[str]) -> int:
    """Run ``fullspike <argv>`` with a pause before each rename onto ``checkpoint.pt``."""
    replace = os.replace

    def slow_replace(src, dst, *args, **kwargs):
        if Path(dst).name == CHECKPOINT:
            time.sleep(pause)
        return replace(src, dst, *args, **kwargs)

    os.replace = slow_replace
    from fullspike.cli import main

    return main(argv)


# ------------------------------------------------------------------------------------ the parent
def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src")] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def train_command(
    out: Path, resume: bool = False, pause: float | None = None, overrides: list[str] = TRAIN, overwrite: bool = False
) -> list[str]:
    argv = [
        "train",
        "--config",
        str(CONFIG),
        "--out",
        str(out),
        *(["--resume"] if resume else []),
        *(["--overwrite"] if overwrite else []),
        *overrides,
    ]
    if pause is None:
        return [sys.executable, "-m", "fullspike", *argv]
    return [sys.executable, str(Path(__file__).resolve()), "child", "--pause", str(pause), "--", *argv]


def temporaries(out: Path) -> list[Path]:
    return sorted(out.glob(f".{CHECKPOINT}.*.tmp")) if out.is_dir() else []


def weights(out: Path) -> dict:
    from fullspike.train import load_checkpoint

    return load_checkpoint(out / CHECKPOINT)["model"]


def identical(a: dict, b: dict) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def saved_epoch(out: Path) -> int | None:
    from fullspike.train import load_checkpoint

    return load_checkpoint(out / CHECKPOINT)["epoch"] if (out / CHECKPOINT).is_file() else None


def reference_run(out: Path, pause: float, overrides: list[str] = TRAIN) -> dict:
    """The uninterrupted run: its weights and the seconds from ``config.json`` to the end."""
    start = time.monotonic()
    proc = subprocess.Popen(
        train_command(out, pause=pause, overrides=overrides),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    config_seen = None
    while proc.poll() is None:
        if config_seen is None and (out / "config.json").exists():
            config_seen = time.monotonic()
        time.sleep(0.005)
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run failed:\n{proc.stderr.read()}")
    end = time.monotonic()
    return {
        "weights": weights(out),
        "startup_seconds": (config_seen or end) - start,
        "training_seconds": end - (config_seen or end),
        "total_seconds": end - start,
    }


def _config_written(out: Path, since: float) -> bool:
    """Whether this run's trainer wrote ``config.json`` (it does so on every start, resumed or not)."""
    try:
        return (out / "config.json").stat().st_mtime >= since
    except FileNotFoundError:
        return False


def kill_run(
    out: Path, pause: float, aim: dict, rng: random.Random, overrides: list[str] = TRAIN, resume: bool = False
) -> dict:
    """Start a run (``--resume`` with ``resume``) and SIGKILL it where ``aim`` says:
    ``{"kind": "time", "after": s}`` (seconds after the trainer writes ``config.json``) or
    ``{"kind": "save", "save": k}`` (inside the k-th checkpoint save of this process)."""
    start, wall = time.monotonic(), time.time() - 0.01
    proc = subprocess.Popen(
        train_command(out, resume=resume, pause=pause, overrides=overrides),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: set[str] = set()
    config_seen = None
    while proc.poll() is None:
        now = time.monotonic()
        if config_seen is None and _config_written(out, wall):
            config_seen = now
        if aim["kind"] == "time" and config_seen is not None and now - config_seen >= aim["after"]:
            break
        if aim["kind"] == "save":
            seen.update(p.name for p in temporaries(out))
            if len(seen) >= aim["save"]:
                time.sleep(rng.uniform(0, 0.8 * pause))  # somewhere inside the save
                break
        time.sleep(0.002)
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = temporaries(out)
    return {
        "killed_at_s": round(time.monotonic() - start, 3),
        "finished_before_kill": finished,
        "inside_save": bool(left),
        "checkpoint_epoch_at_kill": saved_epoch(out),
        "temporaries_left": len(left),
    }


def resume_run(out: Path, overrides: list[str] = TRAIN) -> dict:
    """``fullspike train --config ... --out OUT --resume`` to the end; with no checkpoint yet, the
    run is started again with ``--overwrite`` (what ``--resume`` tells the user to do then)."""
    fresh = not (out / CHECKPOINT).is_file()
    proc = subprocess.run(
        train_command(out, resume=not fresh, overrides=overrides, overwrite=fresh),
        env=_env(),
        capture_output=True,
        text=True,
    )
    return {
        "resume": "started again with --overwrite (no checkpoint yet)" if fresh else "resumed",
        "resume_rc": proc.returncode,
        "resume_error": proc.stderr.strip().splitlines()[-1] if proc.returncode else "",
        "orphans_removed": proc.stdout.count("left by an interrupted save"),
        "temporaries_after": len(temporaries(out)),
    }


def metrics_epochs(out: Path) -> list[int]:
    path = out / "metrics.jsonl"
    return [json.loads(row)["epoch"] for row in path.read_text().splitlines()] if path.is_file() else []


def run_trials(
    root: Path, aims: list[dict], pause: float, seed: int, reference: dict, overrides: list[str] = TRAIN
) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i, aim in enumerate(aims, 1):
        out = root / f"kill{i:02d}"
        row = {
            "kill": i,
            "aim": (f"inside save {aim['save']}" if aim["kind"] == "save" else f"{aim['after']:.2f} s into training"),
        }
        row.update(kill_run(out, pause, aim, rng, overrides))
        row.update(resume_run(out, overrides))
        row["bit_identical"] = row["resume_rc"] == 0 and identical(weights(out), reference["weights"])
        row["metrics_epochs"] = metrics_epochs(out)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def random_aims(
    n: int, saves: int, training_seconds: float, rng: random.Random, share_in_saves: float = 0.3
) -> list[dict]:
    """``n`` kill aims: about ``share_in_saves`` of them inside a random save, the rest at
    uniformly random times in the training window."""
    n_save = max(1, round(n * share_in_saves))
    aims = [{"kind": "save", "save": rng.randint(1, saves)} for _ in range(n_save)]
    aims += [{"kind": "time", "after": rng.uniform(0, training_seconds)} for _ in range(n - n_save)]
    rng.shuffle(aims)
    return aims


def _epochs(epochs: list[int]) -> str:
    return f"1..{len(epochs)}" if epochs == list(range(1, len(epochs) + 1)) else str(epochs)


def markdown(report: dict) -> str:
    lines = [
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}  ",
        f"Machine: {report['machine']}  ",
        f"Run: `fullspike train --config quickstart {' '.join(report['overrides'])}`; "
        f"uninterrupted: {report['reference']['total_seconds']:.1f} s "
        f"({report['reference']['training_seconds']:.1f} s after config.json), "
        f"save pause {report['pause']} s",
        "",
        "| kill | aimed at | killed at (s) | state at kill | checkpoint epoch | resume | orphan tmp removed "
        "| metrics.jsonl epochs | final weights |",
        "|---:|---|---:|---|---:|---|---:|---|---|",
    ]
    for r in report["trials"]:
        state = (
            "finished before the kill"
            if r["finished_before_kill"]
            else "inside a save (tmp file left)"
            if r["inside_save"]
            else "between saves"
        )
        resume = r["resume"] if r["resume_rc"] == 0 else f"FAILED rc={r['resume_rc']}: {r['resume_error']}"
        lines.append(
            f"| {r['kill']} | {r['aim']} | {r['killed_at_s']:.2f} | {state} | "
            f"{r['checkpoint_epoch_at_kill'] if r['checkpoint_epoch_at_kill'] is not None else '-'} | "
            f"{resume} | {r['orphans_removed']} | {_epochs(r['metrics_epochs'])} | "
            f"{'bit-identical' if r['bit_identical'] else 'DIFFERENT'} |"
        )
    ok = sum(r["bit_identical"] for r in report["trials"])
    lines += [
        "",
        f"{ok} of {len(report['trials'])} killed runs resumed to weights bit-identical to the uninterrupted run's.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["child", "--pause"] and argv[3:4] == ["--"]:  # see train_command
        return child(float(argv[2]), argv[4:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    p.add_argument("--pause", type=float, default=0.4, help="seconds each save waits before its rename")
    p.add_argument("--out", default="runs/fault_injection")
    a = p.parse_args(argv)
    sys.path.insert(0, str(REPO / "src"))
    root = Path(a.out)
    if root.exists() and any(root.iterdir()):
        print(f"error: {root} is not empty; give a new --out", file=sys.stderr)
        return 2
    root.mkdir(parents=True, exist_ok=True)
    print("uninterrupted reference run ...", flush=True)
    reference = reference_run(root / "reference", a.pause)
    epochs = int(next(o for o in TRAIN if o.startswith("train.epochs=")).split("=")[1])
    aims = random_aims(a.kills, epochs, reference["training_seconds"], random.Random(a.seed))
    trials = run_trials(root, aims, a.pause, a.seed, reference)
    import torch

    report = {
        "command": "OMP_NUM_THREADS=1 python scripts/fault_injection.py " + " ".join(argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.node()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}",
        "overrides": TRAIN,
        "pause": a.pause,
        "reference": {k: round(v, 3) for k, v in reference.items() if k != "weights"},
        "trials": trials,
    }
    (root / "fault_injection.json").write_text(json.dumps(report, indent=2))
    (root / "fault_injection.md").write_text(markdown(report))
    print(markdown(report))
    return 0 if all(r["bit_identical"] for r in trials) else 1


if __name__ == "__main__":
    sys.exit(main())
