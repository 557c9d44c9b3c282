"""Training and evaluation: the :class:`Trainer` (the loop: :meth:`Trainer.fit`) with its step
function, metrics and callbacks, the config path (:func:`fit`: a config into a run folder),
builders, checkpoints, and :func:`load` for trained runs."""

from .builders import (
    DataSplits,
    build_data,
    build_eval_loader,
    build_model,
    build_optimizer,
    build_scheduler,
    build_split,
    infer_model_kwargs,
    model_kwargs,
)
from .callbacks import Callback, Checkpoint, FiringRateRegularizer, MetricsLogger, SurrogateAnnealing, TensorBoardLogger
from .checkpoint import atomic_save, load_checkpoint, load_model_state
from .config import Config, config_from_dict, load_config
from .experiment import fit
from .load import Loaded, load
from .metrics import Accuracy, HeadAccuracies, MeanLoss, Metric, SumMetric
from .trainer import DivergenceError, Trainer, evaluate, resolve_device, supervised_step

__all__ = [
    "Config",
    "load_config",
    "config_from_dict",
    "build_data",
    "build_split",
    "build_eval_loader",
    "build_model",
    "build_optimizer",
    "build_scheduler",
    "model_kwargs",
    "infer_model_kwargs",
    "DataSplits",
    "fit",
    "evaluate",
    "resolve_device",
    "Trainer",
    "DivergenceError",
    "Callback",
    "Checkpoint",
    "MetricsLogger",
    "TensorBoardLogger",
    "FiringRateRegularizer",
    "SurrogateAnnealing",
    "atomic_save",
    "load_checkpoint",
    "load_model_state",
    "load",
    "Loaded",
    "supervised_step",
    "Metric",
    "SumMetric",
    "MeanLoss",
    "Accuracy",
    "HeadAccuracies",
]
