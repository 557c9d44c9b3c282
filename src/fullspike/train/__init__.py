"""Training and evaluation: configs, builders, the loop, checkpoints."""
from .builders import DataSplits, build_data, build_model, build_optimizer, build_scheduler, model_kwargs
from .checkpoint import atomic_save, load_checkpoint, load_model_state
from .config import Config, config_from_dict, load_config
from .trainer import evaluate, fit, resolve_device

__all__ = ["Config", "load_config", "config_from_dict", "build_data", "build_model", "build_optimizer",
           "build_scheduler", "model_kwargs", "DataSplits", "fit", "evaluate", "resolve_device",
           "atomic_save", "load_checkpoint", "load_model_state"]
