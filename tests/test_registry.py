"""One registry mechanism for everything configs name: unknown names are one RegistryError line
(a ConfigError and a KeyError) with the closest names suggested; bad arguments likewise."""

import pytest
import torch

from fullspike import create_model
from fullspike import nn as snn
from fullspike.engine import BACKENDS, check_backend
from fullspike.errors import ConfigError, RegistryError
from fullspike.models.dvs_resnet import ACCUM_POOLS
from fullspike.registry import Registry
from fullspike.surrogate import ATan, make_surrogate


@pytest.mark.parametrize(
    "lookup,message",
    [
        (lambda: snn.make_neuron("lifx"), "unknown neuron 'lifx'; did you mean 'lif'"),
        (lambda: snn.make_encoder("rates", 4), "unknown encoding 'rates'; did you mean 'rate'"),
        (lambda: snn.make_norm("bnt", 4, 2), "unknown norm 'bnt'; did you mean 'bntt'"),
        (lambda: snn.connect("iandd"), "unknown connect function 'iandd'; did you mean 'iand'"),
        (lambda: ACCUM_POOLS.get("mx"), "unknown accum_pool 'mx'; did you mean 'max'"),
        (lambda: BACKENDS.get("loops"), "unknown neuron backend 'loops'; did you mean 'loop'"),
        (lambda: make_surrogate("sigmod"), "unknown surrogate 'sigmod'; did you mean 'sigmoid'"),
        # the case of a name does not keep the closest from being suggested
        (lambda: make_surrogate("SIGMOD"), "unknown surrogate 'SIGMOD'; did you mean 'sigmoid'"),
        (lambda: create_model("VGG9_BNTT"), "unknown model 'VGG9_BNTT'; did you mean 'vgg9_bntt'"),
        # a zoo entry's name is not an architecture: say how to get the trained network
        (
            lambda: create_model("nmnist_bntt_convnet"),
            "unknown model 'nmnist_bntt_convnet' (it is an entry of the model zoo: "
            "create_model('nmnist_bntt_convnet', pretrained=True) or fullspike.load('zoo:nmnist_bntt_convnet') "
            "gives the trained network); did you mean 'bntt_convnet'",
        ),
    ],
)
def test_unknown_names_suggest_the_closest(lookup, message):
    with pytest.raises(RegistryError) as err:
        lookup()
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert isinstance(err.value, ConfigError) and isinstance(err.value, KeyError)


def test_backend_names_fail_as_config_errors_and_former_names_are_aliases():
    assert check_backend("bptt") == "loop" and check_backend("compiled") == "inductor"
    assert "bptt" in BACKENDS and list(BACKENDS) == ["auto", "eager", "inductor", "loop", "native", "triton"]
    with pytest.raises(ConfigError, match="unknown neuron backend 'inductr'; did you mean 'inductor'"):
        check_backend("inductr")


def test_create_takes_names_and_mappings_and_checks_arguments():
    reg = Registry("widget")

    @reg.register("box")
    def box(size: int = 1, color: str = "red"):
        return size, color

    assert reg.create("box") == (1, "red")
    assert reg.create({"name": "box", "size": 3}, color="blue") == (3, "blue")
    assert "box" in reg and "Box" not in reg and reg.names("b*") == ["box"]
    with pytest.raises(
        ConfigError,
        match=r"^widget 'box' has no argument\(s\) \['colour'\] "
        r"\(did you mean 'color'\?\); it accepts color, size$",
    ):
        reg.create("box", colour="blue")
    with pytest.raises(ConfigError, match=r"^widget 'box': argument 'size' must be an integer, got 'big'$"):
        reg.create("box", size="big")  # the annotations are checked too
    with pytest.raises(RegistryError, match="a widget must be a name or a mapping with a 'name' key"):
        reg.create({"size": 3})
    with pytest.raises(RegistryError, match="registered twice"):
        reg.register("box")(box)


def test_case_insensitive_registries():
    assert isinstance(snn.make_neuron("LIF"), snn.LIF)
    assert snn.Connect("IAND").name == "iand"


def test_surrogates_from_names_mappings_and_instances():
    assert make_surrogate({"name": "atan", "alpha": 3.0}) == ATan(3.0)
    instance = ATan(5.0)
    assert make_surrogate(instance) is instance
    with pytest.raises(ConfigError, match=r"surrogate 'atan' has no argument\(s\) \['beta'\]"):
        make_surrogate("atan", beta=1.0)
    with pytest.raises(ConfigError, match="keyword arguments only together with a surrogate name"):
        make_surrogate(instance, alpha=1.0)


def test_make_neuron_layers_defaults_mapping_and_keywords():
    n = snn.make_neuron(
        {"name": "lif", "tau": 4.0, "v_threshold": 0.7},
        defaults={"v_threshold": 1.0, "detach_reset": True, "surrogate": "atan"},
        v_reset=None,
    )
    assert (n.tau, n.v_threshold, n.detach_reset, n.v_reset) == (4.0, 0.7, True, None)
    assert n.surrogate == ATan()
    with pytest.raises(ConfigError, match=r"^neuron 'if' has no argument\(s\) \['tau'\]; it accepts backend"):
        snn.make_neuron({"name": "if", "tau": 3.0})  # refused, never dropped
    with pytest.raises(ConfigError, match=r"^neuron 'plif' has no argument\(s\) \['leak'\]"):
        snn.make_neuron("plif", leak=0.5)
    with pytest.raises(ConfigError, match=r"^neuron 'lif': argument 'tau' must be a number > 1, got 0.5$"):
        snn.make_neuron("lif", tau=0.5)


def test_lif_refuses_tau_and_leak_together():
    with pytest.raises(ConfigError, match=r"LIF takes tau .* or leak .*, not both; got tau=3.0 and leak=0.9") as err:
        snn.LIF(tau=3.0, leak=0.9)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="not both"):
        snn.make_neuron({"name": "lif", "tau": 3.0}, leak=0.9)
    assert snn.LIF(leak=0.9).tau is None and snn.LIF().tau == 2.0 and snn.LIF().leak is None
    x = torch.rand(4, 2, 3) * 2
    assert torch.equal(snn.LIF(leak=0.9)(x), snn.LIF(leak=0.9, tau=None)(x))


def test_aliases_stand_for_a_registered_name_and_are_not_listed():
    reg = Registry("widget", lowercase=True)

    @reg.register("box", aliases=["crate"])
    def box(size: int = 1):
        return size

    reg.alias("Chest", "crate")  # an alias of an alias stands for the registered name
    assert reg.create("CRATE", size=2) == 2 and reg.get("chest") is box
    assert reg.canonical("crate") == "box" and reg.names() == ["box"] and list(reg) == ["box"]
    assert "chest" in reg and "bag" not in reg
    with pytest.raises(RegistryError, match="widget 'box' is registered; it cannot be an alias too"):
        reg.alias("box", "box")
    with pytest.raises(RegistryError, match="unknown widget 'bag'"):
        reg.alias("sack", "bag")
    with pytest.raises(RegistryError, match="unknown widget 'boxx'; did you mean 'box'"):
        reg.canonical("boxx")
