"""Registered models. Importing this package registers every family."""
from . import vgg_bntt  # noqa: F401  (registers the BNTT VGGs)
from .base import SpikingClassifier
from .outputs import DualStreamOutput, classification_loss
from .registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model", "SpikingClassifier", "DualStreamOutput",
           "classification_loss"]
