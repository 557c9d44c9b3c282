"""Exporting layers to NIR nodes (fullspike.export.graph): what has no NIR form is refused, in the
check and in the export, and what is exported computes what the layer computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fullspike.errors import ExportError
from fullspike.export import check_deployable
from fullspike.nn import IF, LIF, PLIF, SeqSequential

pytest.importorskip("nir")
from fullspike.export import from_nir, to_nir  # noqa: E402


@pytest.mark.parametrize(
    "pool",
    [
        nn.AvgPool2d(3, 2, padding=1, count_include_pad=False),
        nn.AvgPool2d(2, divisor_override=1),
        nn.AvgPool2d(3, 2, ceil_mode=True),
    ],
    ids=["count_include_pad", "divisor_override", "ceil_mode"],
)
def test_average_pooling_that_nir_cannot_express_is_refused(pool):
    """NIR's AvgPool2d divides by the kernel size over a zero-padded input; the three options that
    compute otherwise were once reported ok and exported into a graph that computed something else."""
    model = SeqSequential(nn.Conv2d(2, 4, 3, padding=1), IF(), pool, IF(), nn.Flatten(1))
    model.T = 2
    x = torch.rand(2, 1, 2, 9, 9)
    report = check_deployable(model.eval(), [(x, torch.zeros(1, dtype=torch.long))])
    assert not report.exportable and "have no NIR form" in report.table()
    with pytest.raises(ExportError, match=r"cannot export layer '2' \(AvgPool2d\) to NIR: NIR AvgPool2d divides"):
        to_nir(model.eval(), x)


def test_plain_average_pooling_still_exports_and_round_trips():
    model = SeqSequential(nn.Conv2d(2, 4, 3, padding=1), IF(), nn.AvgPool2d(3, 2, padding=1), IF(), nn.Flatten(1))
    model.T = 3
    x = (torch.rand(3, 2, 2, 9, 9) > 0.5).float()
    with torch.no_grad():
        assert torch.equal(from_nir(to_nir(model.eval(), x))(x), model(x))


def test_an_lif_that_does_not_leak_exports_as_if():
    """leak=1 is accepted by the model (h = v + x, an IF neuron); it used to divide by 1 - leak."""
    model = SeqSequential(nn.Conv2d(2, 4, 3, padding=1), LIF(leak=1.0, v_reset=0.0), nn.Flatten(1))
    model.T = 4
    x = torch.rand(4, 2, 2, 6, 6)
    graph = to_nir(model.eval(), x)
    assert type(graph.nodes["1"]).__name__ == "IF"
    with torch.no_grad():
        assert torch.allclose(from_nir(graph)(x), model(x))


def test_a_plif_with_an_infinite_time_constant_is_refused_not_divided_by_zero():
    """sigmoid(w) = 0 scales the input as well as the leak: no NIR neuron computes that (it raised
    ZeroDivisionError)."""
    neuron = PLIF(v_reset=0.0)
    with torch.no_grad():
        neuron.w.fill_(-200.0)  # sigmoid(w) is 0 in float32
    model = SeqSequential(nn.Conv2d(2, 4, 3, padding=1), neuron, nn.Flatten(1))
    model.T = 4
    x = torch.rand(4, 2, 2, 6, 6)
    assert "an infinite time constant" in check_deployable(model.eval(), [(x, None)]).table()
    with pytest.raises(ExportError, match=r"cannot export layer '1' \(PLIF\) to NIR: an infinite time constant"):
        to_nir(model.eval(), x)


@pytest.mark.parametrize("dt", [1e-39, 1e-45, 1e39])
def test_a_dt_whose_reciprocal_does_not_fit_the_dtype_is_refused_before_anything_is_built(dt, tmp_path):
    model = SeqSequential(nn.Conv2d(2, 4, 3), IF(), nn.Flatten(1))
    model.T = 2
    with pytest.raises(ExportError, match="dt must be a positive number of seconds per time step whose reciprocal"):
        to_nir(model.eval(), torch.rand(2, 1, 2, 6, 6), dt=dt)


def test_an_ann_is_refused_as_not_spiking_rather_than_asked_for_frames():
    from fullspike.models import create_model

    ann = create_model("convnet_ann").eval()
    for call in (
        lambda: to_nir(ann, torch.rand(2, 1, 8, 8)),
        lambda: check_deployable(ann, [(torch.rand(2, 1, 8, 8), None)]),
    ):
        with pytest.raises(ExportError, match="ANNClassifier has no spiking neurons"):
            call()


def _imported_coefficients(neuron: nn.Module) -> tuple[float, float, float]:
    """(decay, scale, bias) of the one neuron of a Linear -> ``neuron`` net, exported and read back."""
    from fullspike.export.importer import Neuron

    model = SeqSequential(nn.Flatten(1), nn.Linear(3, 3), neuron)
    model.T = 2
    net = from_nir(to_nir(model.eval(), torch.ones(2, 1, 3, 1, 1)))
    (imported,) = [m for m in net.modules() if isinstance(m, Neuron)]
    return imported.decay, imported.scale, imported.bias


def _f32(value: float) -> float:
    return torch.tensor(value, dtype=torch.float32).item()


def test_neurons_come_back_with_the_model_s_own_coefficients_in_float32():
    """NIR stores a neuron as (tau, r, v_leak); written as dt / (1 - leak) and 1 / (1 - leak), they
    came back one float32 rounding off (an input scale of 0.99999994 for 1: 70 of the 138 neurons
    below, leak 0.95 among them), which flips a spike whose membrane lands on the threshold. The exporter now
    picks the float32 parameters that give the model's coefficients; a few cannot be hit by any
    (k = dt / tau and k r round on grids coarser than the target's), and they stay one rounding off."""
    cases = [
        (f"leak {v}", LIF(leak=v, v_reset=0.0), (_f32(v), 1.0, 0.0))
        for v in [round(0.5 + 0.01 * i, 2) for i in range(50)]
    ]
    for tau in [round(1.1 + 0.3 * i, 1) for i in range(64)]:
        k = 1.0 / tau
        cases.append((f"tau {tau}", LIF(tau=tau, v_reset=-0.25), (_f32(1 - k), _f32(k), _f32(-0.25 * k))))
    for w in [-3.0 + 0.25 * i for i in range(24)]:
        plif = PLIF(tau=2.0, v_reset=0.0)
        with torch.no_grad():
            plif.w.fill_(w)
        k = torch.sigmoid(plif.w.detach()).float()
        cases.append((f"PLIF w {w}", plif, ((1.0 - k).item(), k.item(), 0.0)))
    wrong = []
    for name, neuron, expected in cases:
        got = _imported_coefficients(neuron)
        if got != expected:
            wrong.append(name)
            off = max(abs(a - b) for a, b in zip(got, expected))
            assert off <= 2**-23, f"{name}: {got} is more than a rounding of 1 - k from {expected}"
    assert len(wrong) <= len(cases) // 10, f"{len(wrong)} of {len(cases)} neurons come back inexact: {wrong}"
    # the neurons the shipped configs and zoo use come back exactly
    for neuron, expected in [
        (LIF(leak=0.95, v_reset=0.0), (_f32(0.95), 1.0, 0.0)),
        (LIF(leak=0.99, v_reset=0.0), (_f32(0.99), 1.0, 0.0)),
        (LIF(tau=2.0, v_reset=0.0), (0.5, 0.5, 0.0)),
        (PLIF(tau=2.0, v_reset=0.0), (0.5, 0.5, 0.0)),
        (IF(v_reset=0.0), (1.0, 1.0, 0.0)),
    ]:
        assert _imported_coefficients(neuron) == expected, neuron


def test_a_membrane_exactly_on_the_threshold_fires_in_the_graph_as_in_the_model():
    """Integer weights on integer inputs (quantised weights on event counts) put a membrane exactly
    on the threshold; an input scale one rounding below 1 kept it under, and the spike was lost."""
    model = SeqSequential(nn.Flatten(1), nn.Linear(1, 1, bias=False), LIF(leak=0.95, v_threshold=1.0, v_reset=0.0))
    model.T = 3
    with torch.no_grad():
        model[1].weight.fill_(1.0)
    x = torch.tensor([1.0, 0.0, 1.0]).view(3, 1, 1, 1, 1)
    with torch.no_grad():
        spikes = model.eval()(x)
        assert spikes.flatten().tolist() == [1.0, 0.0, 1.0]
        assert torch.equal(from_nir(to_nir(model, x))(x), spikes)
