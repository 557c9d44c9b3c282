"""The config path: :func:`fit` builds data, model, optimiser, schedule and callbacks from a
:class:`Config` and runs a :class:`~fullspike.train.Trainer` into a run folder.

A run folder holds ``config.json`` (the config as trained, with the absolute ``data.root``),
``metrics.jsonl`` (one row per epoch), ``tb/`` (TensorBoard), ``checkpoint.pt`` (after every
epoch) and, at the end, ``metrics.json``. Data-parallel when started by ``torchrun``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
from pathlib import Path
from typing import Iterator, Sequence

import torch
import torch.distributed as dist

from ..data import make_loader
from ..errors import CheckpointError, ConfigError, FullspikeError, TrainingError
from ..models.outputs import classification_loss
from ..nn import set_backend
from ..output_paths import exclusive_folder
from .builders import DataSplits, build_data, build_model, build_optimizer, build_scheduler, model_kwargs
from .callbacks import (
    Callback,
    Checkpoint,
    DivergenceWarning,
    FiringRateRegularizer,
    MetricsLogger,
    SurrogateAnnealing,
    TensorBoardLogger,
)
from .checkpoint import CHECKPOINT, RUN_KEYS, load_checkpoint, load_model_state, write_text
from .config import Config, config_from_dict
from .run_folder import (
    REPLACED,
    RUN_FILES,
    check_stash_name,
    drop_stash,
    has_stash,
    is_restoring,
    recover_folder,
    remove_partial_run_saves,
    restore_run_folder,
    stash_run_folder,
)
from .trainer import EVAL_SEED, Trainer, make_epoch_loader, resolve_device

# keys that define what a run trains on; a resumed run cannot change them
FIXED_ON_RESUME = (
    "model",
    "data.name",
    "data.options",
    "data.batch_size",
    "data.augment",
    "data.val_fraction",
    "data.train_subset",
    "train.seed",
    "optim.name",
    "train.neuron_backend",
)  # backends agree on spikes, on gradients only to rounding


_LOG = logging.getLogger(__name__)


def _log(msg: str) -> None:
    _LOG.info(msg)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v and k != "options":
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
    return out


def resume_changes(saved: dict, cfg: Config) -> dict[str, tuple]:
    """``{key: (saved value, new value)}`` for the keys ``cfg`` changes against the checkpoint's
    config; a change of a key that defines the run (:data:`FIXED_ON_RESUME`) is a ConfigError."""
    old, new = _flatten(config_from_dict(saved).to_dict()), _flatten(cfg.to_dict())
    changed = {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
    for key, (a, b) in changed.items():
        if _is_fixed(key):
            raise ConfigError(
                f"--resume: {key} was {a!r} in this run and cannot change when resuming (now {b!r}); "
                f"drop that override, or start a fresh run with --overwrite"
            )
    return changed


def _is_fixed(key: str) -> bool:
    return any(key == f or key.startswith(f + ".") for f in FIXED_ON_RESUME)


def check_own_checkpoint(out: Path, ckpt: dict) -> None:
    """Refuse to resume ``out`` from a checkpoint that is not its run's: one whose config differs
    from the folder's ``config.json`` in what defines the run (a checkpoint copied from another run)."""
    path = out / "config.json"
    if not path.is_file():
        return
    try:
        recorded = _flatten(config_from_dict(json.loads(path.read_text())).to_dict())
    except (ValueError, OSError, FullspikeError) as e:
        raise CheckpointError(
            f"--resume: {path} cannot be read ({type(e).__name__}), so {out / CHECKPOINT} "
            f"cannot be checked against it; start a fresh run with --overwrite"
        ) from None
    saved = _flatten(config_from_dict(ckpt["config"]).to_dict())
    for key in sorted(set(recorded) | set(saved)):
        if _is_fixed(key) and recorded.get(key) != saved.get(key):
            raise CheckpointError(
                f"--resume: {out / CHECKPOINT} is not the checkpoint of the run in {out}: it trained "
                f"{key}={saved.get(key)!r} but {path} records {recorded.get(key)!r}; put that run's own "
                f"checkpoint back, or start a fresh run with --overwrite"
            )


def no_checkpoint_error(out: Path) -> CheckpointError:
    """``--resume`` found no checkpoint in ``out``: say how to start (again)."""
    if has_stash(out):
        return CheckpointError(
            f"--resume: no checkpoint at {out / CHECKPOINT}, but {out / REPLACED} holds the run an interrupted "
            f"--overwrite moved aside: move its files back into {out} and --resume it, or start a fresh run "
            f"with --overwrite (it replaces that run)"
        )
    if any((out / n).exists() for n in RUN_FILES):
        return CheckpointError(
            f"--resume: no checkpoint at {out / CHECKPOINT}: the run in {out} stopped before "
            f"its first checkpoint; start it again with --overwrite"
        )
    return CheckpointError(f"--resume: no checkpoint at {out / CHECKPOINT}; start without --resume")


def resume_config(out_dir: str | Path, overrides: list[str] | None = None) -> Config:
    """The config stored in ``out_dir``'s checkpoint with ``overrides`` applied (for ``--resume``
    without ``--config``)."""
    from .config import apply_overrides

    path = Path(out_dir) / CHECKPOINT
    if not path.is_file() and has_stash(Path(out_dir)):  # a run a killed --overwrite moved aside may come back
        with exclusive_folder(out_dir, "training run"):
            recover_folder(Path(out_dir))
    if not path.is_file():
        raise no_checkpoint_error(Path(out_dir))
    return config_from_dict(apply_overrides(load_checkpoint(path, keys=RUN_KEYS)["config"], overrides or []))


def prepare_run_folder(out: Path, overwrite: bool) -> None:
    """Refuse a folder that holds the run an interrupted ``--overwrite`` moved aside
    (:data:`REPLACED`) or another run's files, unless ``overwrite`` (then :func:`stash_run_folder`
    moves them aside once the new run is built); refuse a file in the stash's place."""
    check_stash_name(out)
    if overwrite:
        return
    if has_stash(out) and not os.path.lexists(out / CHECKPOINT):
        raise ConfigError(
            f"{out} holds the run an interrupted --overwrite moved aside ({out / REPLACED}): to keep it, delete "
            f"the new run's files in {out} (if any), move its files back and --resume it; or pass --overwrite to "
            f"replace it (or choose another --out)"
        )
    found = [n for n in RUN_FILES if os.path.lexists(out / n)]
    if found:
        raise ConfigError(
            f"{out} already holds a run ({', '.join(found)}); continue it with --resume, "
            f"or pass --overwrite to replace it (or choose another --out)"
        )


class _DropReplacedRun(Callback):
    """Deletes the run that ``--overwrite`` moved aside in ``out`` at the end of the new run's
    first epoch, once that epoch's checkpoint is written: from then on the new run resumes, and
    a kill no longer leaves the old run's files behind."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def on_epoch_end(self, trainer, row: dict) -> None:
        if has_stash(self.out) and (self.out / CHECKPOINT).is_file():
            drop_stash(self.out)


def with_absolute_root(cfg: Config) -> Config:
    """``cfg`` with ``data.root`` made absolute (against the working directory), as recorded."""
    if cfg.data.root is None:
        return cfg
    d = cfg.to_dict()
    d["data"]["root"] = str(Path(cfg.data.root).expanduser().resolve())
    return config_from_dict(d)


def _init_distributed(device_name: str) -> tuple[int, int, int]:
    """(world size, rank, local rank) from torchrun's environment; initialises the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_name != "cpu"
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return world, rank, local


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (model initialisation draws from them)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_callbacks(
    cfg: Config, out: Path, metadata: dict, num_classes: int | None = None, extra: Sequence[Callback] = ()
) -> list:
    """The config path's callbacks, in order: regularisation, annealing, loggers, the divergence
    warning (``num_classes`` sets its reference, see :class:`DivergenceWarning`), the caller's
    ``extra`` callbacks, checkpoint (last, so each epoch's checkpoint holds every callback's state
    after that epoch)."""
    tc, callbacks = cfg.train, []
    if tc.firing_rate_penalty:
        callbacks.append(FiringRateRegularizer(tc.firing_rate_penalty))
    if tc.surrogate_anneal is not None:
        a = tc.surrogate_anneal
        callbacks.append(SurrogateAnnealing(a.start, a.end, a.param))
    callbacks.append(MetricsLogger(out / "metrics.jsonl"))
    if tc.tensorboard is not False:
        callbacks.append(TensorBoardLogger(out / "tb", required=bool(tc.tensorboard)))
    callbacks.append(
        DivergenceWarning(num_classes, hint=f"lower optim.lr (now {cfg.optim.lr:.3g}) or set train.grad_clip")
    )
    callbacks += extra
    callbacks.append(Checkpoint(out / CHECKPOINT, metadata))
    return callbacks


def fit(
    cfg: Config, out_dir: str | Path, resume: bool = False, overwrite: bool = False, callbacks: Sequence[Callback] = ()
) -> dict:
    """Train ``cfg`` into the run folder ``out_dir`` (the config path; :meth:`Trainer.fit
    <fullspike.train.Trainer.fit>` is the loop it runs); returns the final metrics (also written to
    metrics.json).

    A folder holding another run is refused unless ``overwrite``, which moves that run's files
    aside once the new run's data, model and optimiser are built, puts them back if the new run
    fails before its first checkpoint, and deletes them once it has one; a folder
    another process is training into is refused too (:func:`~fullspike.output_paths.exclusive_folder`).
    A resume refuses a checkpoint whose run differs from the folder's ``config.json``.
    With ``resume``, continue from ``out_dir/checkpoint.pt`` exactly where it stopped (weights,
    optimiser, schedule, RNG and data order), so the result equals an uninterrupted run; changed
    optimiser/schedule/epoch values are applied (and recorded), changes of what defines the run
    are refused. Seeds the global RNGs with ``train.seed``; sets no other process-wide option.
    ``callbacks`` run after the config's own and before the checkpoint, which saves their state
    (:meth:`~fullspike.train.callbacks.Callback.state_dict`) and gives it back on resume.
    """
    main = int(os.environ.get("RANK", "0")) == 0  # the ranks of one torchrun job share the folder
    with exclusive_folder(out_dir, "training run") if main else contextlib.nullcontext(), enough_memory(cfg):
        return _train_in_folder(cfg, Path(out_dir), resume, overwrite, main, callbacks)


@contextlib.contextmanager
def enough_memory(cfg: Config) -> Iterator[None]:
    """Turn a failed allocation (``model.T`` or the batch too large for this machine) into one
    :class:`TrainingError` line that says which keys set the memory."""
    try:
        yield
    except (MemoryError, RuntimeError) as e:
        text = str(e)
        if (
            not isinstance(e, (MemoryError, torch.OutOfMemoryError))
            and "can't allocate memory" not in text
            and "out of memory" not in text
        ):
            raise
        tried = re.search(r"tried to allocate ([\d.]+ ?\w+)", text)
        size = f" ({tried.group(0)})" if tried else ""
        raise TrainingError(
            f"not enough memory to train {cfg.model_name}{size}; lower model.T "
            f"(now {cfg.model.get('T', 'its default')}) or data.batch_size (now "
            f"{cfg.data.batch_size})"
        ) from None


def _train_in_folder(
    cfg: Config, out: Path, resume: bool, overwrite: bool, main: bool, extra: Sequence[Callback] = ()
) -> dict:
    """:func:`fit`'s work once ``out`` is this process's: build everything from ``cfg``, then
    :meth:`Trainer.fit <fullspike.train.Trainer.fit>` (the loop itself)."""
    tc = cfg.train
    ckpt_path = out / CHECKPOINT
    ckpt, changes = None, {}
    cfg = with_absolute_root(cfg)
    if main:
        recover_folder(out)  # what a killed --overwrite left halfway (run_folder's module docstring)
    if resume:
        if not ckpt_path.is_file():
            raise no_checkpoint_error(out)
        ckpt = load_checkpoint(ckpt_path, keys=RUN_KEYS)
        check_own_checkpoint(out, ckpt)
        changes = resume_changes(ckpt["config"], cfg)
    else:
        prepare_run_folder(out, overwrite)
    world, rank, local = _init_distributed(tc.device)
    device = resolve_device(tc.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", local)
    seed_everything(tc.seed)
    data: DataSplits = build_data(cfg)
    model = build_model(cfg, data.info).to(device)
    if tc.neuron_backend is not None:  # e.g. "inductor": compile once, faster steps (docs/performance.md)
        set_backend(model, tc.neuron_backend)
    optimizer = build_optimizer(cfg, model)
    batch = cfg.data.batch_size // world
    if batch < 1:
        raise TrainingError(f"data.batch_size={cfg.data.batch_size} is smaller than the {world} processes")
    train_loader = make_epoch_loader(data.train, data.info, batch, tc.seed, cfg.data.num_workers, rank, world)
    scheduler = build_scheduler(cfg, optimizer, len(train_loader(0)))
    eval_bs = cfg.data.eval_batch_size or cfg.data.batch_size
    val_loader = (
        make_loader(data.val, data.info, eval_bs, False, cfg.data.num_workers) if data.val is not None else None
    )
    metadata = {"model_name": cfg.model_name, "model_kwargs": model_kwargs(cfg, data.info), "config": cfg.to_dict()}
    trainer = Trainer(
        model,
        functools.partial(classification_loss, label_smoothing=tc.label_smoothing),
        optimizer,
        train_loader,
        val_loader,
        callbacks=build_callbacks(cfg, out, metadata, data.info.num_classes, extra),
        scheduler=scheduler,
        epochs=tc.epochs,
        test_loader=make_loader(data.test, data.info, eval_bs, False, cfg.data.num_workers),
        device=device,
        amp=tc.amp,
        grad_clip=tc.grad_clip,
        eval_every=tc.eval_every,
        eval_loss_fn=classification_loss,
        progress=tc.progress,
        distributed=world > 1,
        divergence_hint="lower optim.lr (now {lr:.3g}) or set train.grad_clip",
    )
    if ckpt is not None:
        load_model_state(model, ckpt, cfg.model_name, ckpt_path)
        trainer.load_state_dict(ckpt)
        _apply_optim_config(cfg, trainer)
        trainer.last_checkpoint = ckpt_path
    # everything is built: only now is the old run moved aside, and it is deleted only once the
    # new run has written its first checkpoint (restored if the new run fails before that)
    try:
        stash = stash_run_folder(out) if main and overwrite else None
    except BaseException:  # cut short: put back what was moved before the error is reported
        recover_folder(out)
        raise
    if stash is not None:
        trainer.callbacks.append(_DropReplacedRun(out))  # after Checkpoint, the last
    elif main and resume and has_stash(out):  # an overwrite killed after its first checkpoint: that run goes on
        drop_stash(out)
        _log(f"deleted {out / REPLACED}, the run an --overwrite replaced: the run in {out} had its first checkpoint")
    try:
        return _run(cfg, out, trainer, model, data, ckpt, ckpt_path, changes, world, device, main)
    except BaseException:
        if stash is not None and not ckpt_path.exists():
            _put_back(out)
        raise
    finally:  # the new run has its checkpoint (none was moved back): the old run goes
        if stash is not None and has_stash(out) and not is_restoring(out) and ckpt_path.exists():
            drop_stash(out)


def _put_back(out: Path) -> None:
    """Restore the run that ``--overwrite`` moved aside, the new run having failed before its first
    checkpoint; if that fails, say where the old run is kept (the next start in ``out`` finishes
    the restore) and let the new run's error be the one reported."""
    try:
        restore_run_folder(out)
    except BaseException as e:  # (a second Ctrl-C too: say where the old run is, then stop)
        then = (
            f"the next `fullspike train --out {out}` finishes putting it back"
            if is_restoring(out)
            else f"move its files back into {out} to keep it"
        )
        _LOG.error(
            f"the run that was in {out} is kept in {out / REPLACED}: putting it back failed "
            f"({type(e).__name__}: {e}); {then}"
        )
        if not isinstance(e, Exception):
            raise
        return
    _log(f"kept the run that was in {out}: the new run failed before its first checkpoint")


def _run(
    cfg: Config,
    out: Path,
    trainer: Trainer,
    model,
    data,
    ckpt,
    ckpt_path: Path,
    changes: dict,
    world: int,
    device: torch.device,
    main: bool,
) -> dict:
    """The rest of :func:`_train_in_folder` once the run folder is this run's: write its config,
    train, and write ``metrics.json``."""
    tc = cfg.train
    if main:
        for tmp in remove_partial_run_saves(out):
            _log(f"removed {tmp}, left by an interrupted save")
        if ckpt is not None:
            _log(f"resuming {cfg.name} from {ckpt_path} after epoch {trainer.epoch}")
            for key, (a, b) in changes.items():
                _log(f"resume: {key} changed from {a!r} to {b!r}; applied from epoch {trainer.epoch + 1}")
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "config.json", json.dumps(cfg.to_dict(), indent=2, default=str))
        n_params = sum(p.numel() for p in model.parameters())
        _log(
            f"{cfg.name}: {cfg.model_name} ({n_params / 1e6:.2f}M params, T={getattr(model, 'T', None)}) on "
            f"{cfg.data.name} [{len(data.train)} train / {len(data.val) if data.val else 0} val / "
            f"{len(data.test)} test], {tc.epochs} epochs, device {device}, {world} process(es)"
        )
    try:
        result = trainer.fit()
        metrics = _final_metrics(cfg, trainer, result, world, device) if main else {}
        if main:
            write_text(out / "metrics.json", json.dumps(metrics, indent=2))
            _log(
                f"test_accuracy={metrics['test_accuracy']:.4f} (epochs={trainer.epoch}, T={metrics['time_steps']}, "
                f"train_seconds={trainer.train_seconds:.1f}) -> {out / 'metrics.json'}"
            )
        if world > 1:
            dist.barrier()
    finally:
        if world > 1:
            dist.destroy_process_group()
    return metrics


def _final_metrics(cfg: Config, trainer: Trainer, result: dict, world: int, device: torch.device) -> dict:
    """What ``metrics.json`` holds: test metrics, epochs, T, timings, processes, best validation."""
    return {
        "name": cfg.name,
        "model": cfg.model_name,
        "dataset": cfg.data.name,
        **{k: v for k, v in result.items() if k.startswith("test_")},
        "test_seed": EVAL_SEED,  # the seed of the test evaluation's draws (`fullspike evaluate --seed`)
        "epochs": trainer.epoch,
        "time_steps": getattr(trainer.model, "T", None),
        "train_seconds": trainer.train_seconds,
        "train_cpu_seconds": trainer.train_cpu_seconds,  # CPU time of this process (all threads)
        "processes": world,
        "device": str(device),
        "best_val_accuracy": max((r["val_accuracy"] for r in trainer.history if "val_accuracy" in r), default=None),
        "divergence_warning": next((cb.message for cb in trainer.callbacks if isinstance(cb, DivergenceWarning)), None),
    }


def _apply_optim_config(cfg: Config, trainer: Trainer) -> None:
    """Set the config's optimiser hyperparameters and base learning rate on a restored trainer
    (so values changed on resume take effect); the restored step count and moments stay."""
    fresh = build_optimizer(cfg, trainer.model)
    for group, new in zip(trainer.optimizer.param_groups, fresh.param_groups):
        group.update({k: v for k, v in new.items() if k != "params"})
        group["initial_lr"] = cfg.optim.arguments["lr"]
    sched = trainer.scheduler
    sched.base_lrs = [cfg.optim.arguments["lr"]] * len(sched.base_lrs)
    for group, base, fn in zip(trainer.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
        group["lr"] = base * fn(sched.last_epoch)
