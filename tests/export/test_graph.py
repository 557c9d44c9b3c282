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
