"""Hostile NIR graphs: from_nir checks every node and edge before building anything (finite numbers,
tau > 0, r > 0, dt > 0, known endpoints, shapes that flow), and the built module checks its input
shape. Each failure is one ExportError line naming what is wrong."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from fullspike.errors import ExportError
from fullspike.nn import IF, LIF, SeqSequential

nir = pytest.importorskip("nir")
import fullspike.export.importer as importer  # noqa: E402
from fullspike.export import from_nir, to_nir, write_nir  # noqa: E402


@pytest.fixture
def graph():
    """conv -> LIF -> max-pool -> flatten -> affine -> IF -> affine, input [2, 8, 8]."""
    model = SeqSequential(
        nn.Conv2d(2, 4, 3, padding=1),
        LIF(tau=2.0, v_reset=0.0),
        nn.MaxPool2d(2),
        nn.Flatten(1),
        nn.Linear(64, 16),
        IF(v_reset=0.0),
        nn.Linear(16, 3),
    )
    model.T = 4
    return to_nir(model.eval(), torch.rand(4, 2, 2, 8, 8))


@pytest.fixture
def no_build(monkeypatch):
    """Fail the test if any module were built: the checks must come first."""

    def built(*a, **k):
        raise AssertionError("from_nir built a module before finding the problem")

    monkeypatch.setattr(importer, "_module", built)


def rejected(graph, match: str, **kwargs) -> str:
    with pytest.raises(ExportError, match=match) as e:
        from_nir(graph, **kwargs)
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 300
    print(msg)
    return msg


def test_the_valid_graph_runs(graph):
    out = from_nir(graph)(torch.rand(4, 5, 2, 8, 8))
    assert out.shape == (4, 5, 3)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights(graph, no_build, value):
    graph.nodes["0"].weight[0, 0, 0, 0] = value
    rejected(graph, r"NIR node '0' \(Conv2d\): weight has 1 non-finite value")


def test_non_finite_bias_and_threshold(graph, no_build):
    g = copy.deepcopy(graph)
    g.nodes["4"].bias[3] = np.nan
    rejected(g, r"NIR node '4' \(Affine\): bias has 1 non-finite")
    graph.nodes["1"].v_threshold[0, 0, 0] = np.nan
    rejected(graph, r"NIR node '1' \(LIF\): v_threshold has 1 non-finite")


@pytest.mark.parametrize("tau", [0.0, -1e-4])
def test_tau_must_be_positive(graph, no_build, tau):
    graph.nodes["1"].tau[...] = tau
    rejected(graph, r"NIR node '1' \(LIF\): tau must be > 0")


def test_r_must_be_positive(graph, no_build):
    graph.nodes["5"].r[...] = 0.0
    rejected(graph, r"NIR node '5' \(IF\): r must be > 0")


@pytest.mark.parametrize("dt", [0.0, -1.0, float("nan"), "fast"])
def test_dt_must_be_positive(graph, no_build, dt):
    rejected(graph, "dt must be a positive number", dt=dt)


def test_dt_from_the_metadata_is_checked(graph, no_build):
    graph.metadata["dt"] = 0.0
    rejected(graph, "dt must be a positive number of seconds per time step, got 0.0")


def test_edge_to_an_unknown_node(graph, no_build):
    graph.edges.append(("4", "nowhere"))
    rejected(graph, r"NIR edge \('4', 'nowhere'\) names unknown node 'nowhere'")


def test_edge_from_an_unknown_node(graph, no_build):
    graph.edges.append(("ghost", "output"))
    rejected(graph, "names unknown node 'ghost'")


def test_conv_fed_the_wrong_channels(graph, no_build):
    graph.nodes["0"].weight = np.zeros((4, 3, 3, 3), dtype=np.float32)
    rejected(graph, r"NIR node '0' \(Conv2d\) gets input of shape \[2, 8, 8\]: it needs \[3, H, W\]")


def test_affine_fed_the_wrong_size(graph, no_build):
    graph.nodes["6"].weight = np.zeros((3, 15), dtype=np.float32)
    rejected(graph, r"NIR node '6' \(Affine\) gets input of shape \[16\]: its weight \[3, 15\] needs flat input \[15\]")


def test_neuron_parameters_of_the_wrong_shape(graph, no_build):
    graph.nodes["5"].v_threshold = np.ones(15, dtype=np.float32)
    rejected(graph, r"NIR node '5' \(IF\) gets input of shape \[16\]: its v_threshold has shape \[15\]")


def test_summing_inputs_of_different_shapes(graph, no_build):
    graph.edges.append(("0", "4"))  # [4, 8, 8] into the affine fed [64]
    rejected(graph, r"NIR node '4' \(Affine\) sums inputs of different shapes")


def test_unsupported_node_type(graph, no_build):
    graph.nodes["5"] = nir.CubaLIF(
        tau_mem=np.ones(16), tau_syn=np.ones(16), r=np.ones(16), v_leak=np.zeros(16), v_threshold=np.ones(16)
    )
    rejected(graph, "NIR node '5' of type CubaLIF is not supported by from_nir")


def test_cycle_and_missing_input(graph, no_build):
    g = copy.deepcopy(graph)
    g.edges.append(("5", "4"))
    rejected(g, "has a cycle")
    del graph.nodes["input"]
    graph.edges[:] = [e for e in graph.edges if "input" not in e]
    rejected(graph, "needs one Input and one Output node; got 0 and 1")


def test_a_file_with_nan_weights_is_refused(graph, tmp_path):
    graph.nodes["4"].weight[0, 0] = np.nan
    path = write_nir(graph, tmp_path / "bad.nir")
    rejected(str(path), r"NIR node '4' \(Affine\): weight has 1 non-finite")


@pytest.mark.parametrize(
    "shape, hint",
    [((5, 2, 8, 8), "add the time axis"), ((4, 5, 2, 8, 9), ""), ((4, 5, 3, 8, 8), ""), ((4, 5, 128), "")],
)
def test_the_built_module_checks_its_input_shape(graph, shape, hint):
    net = from_nir(graph)
    with pytest.raises(ExportError, match=r"takes time-first input \[T, B, 2, 8, 8\]; got shape") as e:
        net(torch.zeros(shape))
    assert "\n" not in str(e.value) and hint in str(e.value)


@pytest.mark.parametrize(
    "field, value, says",
    [
        (
            "stride",
            np.array([1, 1, 1]),
            r"stride must be one or two whole numbers from 1 to 2147483647 \(a 2-D layer\), got \[1, 1, 1\]",
        ),
        ("stride", np.array([np.inf, 1.0]), "stride must be one or two whole numbers"),
        ("stride", np.array([1e30, 1.0]), "stride must be one or two whole numbers"),
        ("stride", np.array([1.5, 1.0]), "stride must be one or two whole numbers"),
        ("dilation", np.array([0, 1]), "dilation must be one or two whole numbers from 1"),
        ("padding", np.array([-1, 0]), "padding must be one or two whole numbers from 0"),
    ],
)
def test_conv_geometry_must_be_two_dimensional_whole_numbers(graph, no_build, field, value, says):
    setattr(graph.nodes["0"], field, value)
    rejected(graph, rf"NIR node '0' \(Conv2d\): {says}")


def test_complex_weights_are_refused_not_cast(graph, no_build):
    graph.nodes["4"].weight = graph.nodes["4"].weight.astype(np.complex64) + 1j
    rejected(graph, r"NIR node '4' \(Affine\): weight holds complex numbers")


def test_pooling_geometry_is_checked_too(no_build):
    model = SeqSequential(nn.Conv2d(2, 4, 3, padding=1), IF(), nn.AvgPool2d(2), IF(), nn.Flatten(1), nn.Linear(64, 3))
    model.T = 2
    g = to_nir(model.eval(), torch.rand(2, 1, 2, 8, 8))
    g.nodes["2"].stride = np.array([2, 2, 2])
    rejected(g, r"NIR node '2' \(AvgPool2d\): stride must be one or two whole numbers")
