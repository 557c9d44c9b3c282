import json
import math

import pytest
import torch

from fullspike.analysis.gradients import (
    block_statistics,
    dataset_batches,
    gradient_study,
    plot_records,
    random_batches,
    summarize,
    write_records,
)
from fullspike.dst import spike_stream_parameters
from fullspike.errors import ConfigError
from fullspike.models import classification_loss, create_model

TINY = dict(num_classes=4, T=2, width=4, stem="cifar")


def test_block_statistics_match_a_manual_computation():
    torch.manual_seed(0)
    model = create_model("dst_resnet18", **TINY)
    batches = random_batches(1, 3, image_size=8, num_classes=4)
    recs = block_statistics(model, batches)
    assert [r["block"] for r in recs] == [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]
    # recompute by hand for the first and last block
    x, y = batches[0]
    model.zero_grad()
    outs = {}
    hooks = [
        model.layer1[0].register_forward_hook(lambda m, i, o: outs.__setitem__("first", o[0])),
        model.layer4[1].register_forward_hook(lambda m, i, o: outs.__setitem__("last", o[0])),
    ]
    classification_loss(model(x), y).backward()
    for h in hooks:
        h.remove()
    for rec, block, key in ((recs[0], model.layer1[0], "first"), (recs[-1], model.layer4[1], "last")):
        norm = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in spike_stream_parameters(block)))
        assert rec["param_grad_norm"] == pytest.approx(norm, rel=1e-5)
        assert rec["firing_rate"] == pytest.approx(float((outs[key] != 0).float().mean()))
        assert rec["output_grad_norm"] > 0
    # the accumulation downsampler's parameters are not part of the block's spike stream
    down = model.layer2[0]
    assert len(spike_stream_parameters(down)) == len(list(down.parameters())) - 4  # dw, pw, bn (2)


def test_forward_only_statistics_and_errors():
    model = create_model("sew_resnet18", **TINY)
    recs = block_statistics(model, random_batches(2, 2, image_size=8, num_classes=4), backward=False)
    assert len(recs) == 8 and all(set(r) == {"index", "block", "firing_rate"} for r in recs)
    assert all(0.0 <= r["firing_rate"] <= 1.0 for r in recs)
    with pytest.raises(ConfigError, match="no residual blocks"):
        block_statistics(torch.nn.Linear(2, 2), [])


def test_gradient_study_varies_only_alpha_and_summarizes(tmp_path):
    batches = random_batches(1, 2, image_size=8, num_classes=4)
    recs = gradient_study(["spiking_resnet18", "dst_resnet18"], [1.0, 8.0], batches, TINY)
    assert len(recs) == 2 * 2 * 8
    by = {(r["model"], r["alpha"], r["index"]): r for r in recs}
    # same weights for both alphas: forward (firing) identical, gradients differ
    assert by[("dst_resnet18", 1.0, 3)]["firing_rate"] == by[("dst_resnet18", 8.0, 3)]["firing_rate"]
    assert by[("dst_resnet18", 1.0, 0)]["param_grad_norm"] != by[("dst_resnet18", 8.0, 0)]["param_grad_norm"]
    summary = summarize(recs)
    assert len(summary) == 4
    s = next(s for s in summary if s["model"] == "spiking_resnet18" and s["alpha"] == 1.0)
    first, last = by[("spiking_resnet18", 1.0, 0)], by[("spiking_resnet18", 1.0, 7)]
    assert s["ratio_first_last"] == pytest.approx(first["param_grad_norm"] / last["param_grad_norm"])
    paths = write_records(recs, summary, tmp_path, "g")
    assert (
        paths["csv"].read_text().splitlines()[0]
        == "model,alpha,index,block,param_grad_norm,output_grad_norm,firing_rate"
    )
    assert len(paths["csv"].read_text().splitlines()) == 1 + len(recs)
    assert json.loads(paths["json"].read_text())["summary"][0]["blocks"] == 8
    png = plot_records(recs, tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "name, value",
    [("n", 0), ("batch_size", 0), ("batch_size", -1), ("in_channels", 0), ("image_size", 0), ("num_classes", 1)],
)
def test_random_batches_refuse_nonsense_sizes(name, value):
    args = dict(n=1, batch_size=2, in_channels=1, image_size=4, num_classes=2)
    with pytest.raises(ConfigError, match=rf"^{name} must be an integer >= "):
        random_batches(**{**args, name: value})


@pytest.mark.parametrize("name, value", [("n", 0), ("batch_size", 0)])
def test_dataset_batches_refuse_nonsense_sizes(name, value):
    args = dict(n=1, batch_size=2)
    with pytest.raises(ConfigError, match=rf"^{name} must be an integer >= 1, got "):  # n=0 read the whole split
        dataset_batches("digits", None, **{**args, name: value})
