"""Training and evaluation: the :class:`Trainer` and its callbacks, the config path (:func:`fit`),
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
from .trainer import DivergenceError, Trainer, evaluate, resolve_device

__all__ = ["Config", "load_config", "config_from_dict", "build_data", "build_split", "build_eval_loader",
           "build_model", "build_optimizer", "build_scheduler", "model_kwargs", "infer_model_kwargs", "DataSplits",
           "fit",
           "evaluate", "resolve_device", "Trainer", "DivergenceError", "Callback", "Checkpoint",
           "MetricsLogger", "TensorBoardLogger", "FiringRateRegularizer", "SurrogateAnnealing",
           "atomic_save", "load_checkpoint", "load_model_state", "load", "Loaded"]
