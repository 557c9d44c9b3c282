"""Registered models. Importing this package registers every family."""

from . import (
    ann,  # noqa: F401  (registers vgg9_ann, vgg11_ann, convnet_ann: ANN counterparts)
    dvs_resnet,  # noqa: F401  (registers sew_7bnet, dst_7bnet, sew_wide7bnet, dst_wide7bnet)
    resnet,  # noqa: F401  (registers spiking_resnet*, sew_resnet*, dst_resnet*)
    spikformer,  # noqa: F401  (registers spikformer_4_384)
    vgg_bntt,  # noqa: F401  (registers the BNTT VGGs)
)
from .base import SpikingClassifier, StepwiseClassifier
from .dual_stream import DualStreamClassifier
from .outputs import DualStreamOutput, classification_loss
from .registry import (
    MODELS,
    PretrainedSource,
    create_model,
    is_model,
    list_models,
    model_factory,
    register_model,
    set_pretrained_resolver,
)

__all__ = [
    "create_model",
    "list_models",
    "is_model",
    "model_factory",
    "register_model",
    "MODELS",
    "PretrainedSource",
    "set_pretrained_resolver",
    "SpikingClassifier",
    "StepwiseClassifier",
    "DualStreamClassifier",
    "DualStreamOutput",
    "classification_loss",
]
