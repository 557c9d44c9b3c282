"""create_model / list_models / is_model, and loading weights with ``checkpoint_path``."""

import pytest
import torch

import fullspike
from fullspike.energy import count_synaptic_ops
from fullspike.errors import CheckpointError, ConfigError
from fullspike.models import model_factory
from fullspike.models.resnet import dst_resnet18
from fullspike.train.checkpoint import FORMAT, atomic_save, rng_state

SMALL = dict(T=2, width=4, hidden=8)
SMALL_CONV = dict(in_channels=1, image_size=8, width=4, hidden=16)


def test_lookup_functions():
    assert fullspike.is_model("dst_resnet18") and not fullspike.is_model("dst_resnet19")
    assert fullspike.list_models("dst_resnet1*") == ["dst_resnet101", "dst_resnet152", "dst_resnet18"]
    assert model_factory("dst_resnet18") is dst_resnet18  # one visible function per variant
    assert "DST ResNet-18" in dst_resnet18.__doc__


def test_create_model_does_not_stamp_a_name_and_the_counter_needs_none():
    model = fullspike.create_model("bntt_convnet", **SMALL)
    assert not hasattr(model, "model_name")
    x = torch.rand(2, 1, 8, 8)
    assert count_synaptic_ops(model, x).model == "BNTTVGG"
    assert count_synaptic_ops(model, x, name="bntt_convnet").model == "bntt_convnet"


def test_checkpoint_path_loads_a_state_dict_and_a_training_checkpoint(tmp_path):
    torch.manual_seed(0)
    trained = fullspike.create_model("bntt_convnet", **SMALL)
    torch.save(trained.state_dict(), tmp_path / "weights.pt")
    atomic_save(
        {"format": FORMAT, "model_name": "bntt_convnet", "model": trained.state_dict(), "rng": rng_state()},
        tmp_path / "checkpoint.pt",
    )
    for name in ("weights.pt", "checkpoint.pt"):
        torch.manual_seed(1)  # a different initialisation, overwritten by the file
        model = fullspike.create_model("bntt_convnet", checkpoint_path=tmp_path / name, **SMALL)
        for key, value in trained.state_dict().items():
            assert torch.equal(model.state_dict()[key], value), (name, key)


def test_checkpoint_mismatches_are_one_clear_line(tmp_path):
    model = fullspike.create_model("bntt_convnet", **SMALL)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    atomic_save(
        {"format": FORMAT, "model_name": "bntt_convnet", "model": model.state_dict()}, tmp_path / "checkpoint.pt"
    )
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    cases = [
        (
            dict(name="bntt_convnet", checkpoint_path=tmp_path / "weights.pt", T=2, width=8, hidden=8),
            "does not fit 'bntt_convnet'",
        ),
        (dict(name="vgg9_bntt", checkpoint_path=tmp_path / "checkpoint.pt", T=2), "holds a 'bntt_convnet' model"),
        (dict(name="bntt_convnet", checkpoint_path=tmp_path / "junk.pt", **SMALL), "corrupt"),
        (
            dict(name="bntt_convnet", checkpoint_path=tmp_path / "list.pt", **SMALL),
            "neither a state dict nor a fullspike checkpoint",
        ),
        (dict(name="bntt_convnet", checkpoint_path=tmp_path / "absent.pt", **SMALL), "not found"),
    ]
    for kwargs, message in cases:
        name = kwargs.pop("name")
        with pytest.raises(CheckpointError, match=message) as err:
            fullspike.create_model(name, **kwargs)
        assert "\n" not in str(err.value)


def test_unknown_arguments_are_checked_before_building():
    with pytest.raises(ConfigError, match=r"model 'dst_resnet18' has no argument\(s\) \['depth'\]"):
        fullspike.create_model("dst_resnet18", depth=3)


def test_a_checkpoint_recording_other_model_arguments_is_a_warning_naming_them(tmp_path, caplog):
    trained = fullspike.create_model("spiking_convnet", T=3, **SMALL_CONV)
    atomic_save(
        {
            "format": FORMAT,
            "model_name": "spiking_convnet",
            "model_kwargs": {"T": 3, **SMALL_CONV},
            "model": trained.state_dict(),
        },
        tmp_path / "checkpoint.pt",
    )
    model = fullspike.create_model("spiking_convnet", checkpoint_path=tmp_path / "checkpoint.pt", **SMALL_CONV)
    assert model.T == 8  # create_model builds what it is asked for: the default T, the weights loaded
    [record] = [r for r in caplog.records if r.levelname == "WARNING"]
    message = record.getMessage()
    assert "T=3 (built with 8)" in message and "width" not in message and "fullspike.load" in message
    caplog.clear()
    fullspike.create_model("spiking_convnet", checkpoint_path=tmp_path / "checkpoint.pt", T=3, **SMALL_CONV)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    # an argument the checkpoint does not record ran at its default: building with another is said too
    fullspike.create_model("spiking_convnet", checkpoint_path=tmp_path / "checkpoint.pt", T=3, leak=0.5, **SMALL_CONV)
    [record] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "leak=0.95 (built with 0.5)" in record.getMessage()


def test_a_plain_state_dict_with_non_finite_weights_is_a_warning(tmp_path, caplog):
    state = fullspike.create_model("spiking_convnet", **SMALL_CONV).state_dict()
    next(v for v in state.values() if v.is_floating_point()).fill_(float("nan"))
    atomic_save(state, tmp_path / "plain.pt")
    fullspike.create_model("spiking_convnet", checkpoint_path=tmp_path / "plain.pt", **SMALL_CONV)
    assert any("hold NaN or inf" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
