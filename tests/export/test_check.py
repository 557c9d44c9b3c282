"""The deployability check on real CIFAR-10 images, refusals, and the optional nir dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fullspike.dst import remove_aap
from fullspike.energy import count_synaptic_ops, estimate_bn_stats, fold_bn
from fullspike.errors import ConfigError, ExportError
from fullspike.export import check_deployable
from fullspike.models import create_model
from fullspike.nn import set_backend

SRC = Path(__file__).resolve().parents[2] / "src"


def fresh(name: str, x: torch.Tensor, **kw):
    model = create_model(name, **kw)
    set_backend(model, "loop")
    return estimate_bn_stats(model, x).eval()


def test_dst_fsnn_is_exportable_and_only_its_stem_and_head_multiply(cifar_test):
    """The operation count is that of the model as it computes: the stem on the image, and fc
    once on the mean over time, are MACs; everything else is spike accumulates."""
    x = cifar_test[0][:32]
    fsnn = remove_aap(fresh("dst_resnet18", x, num_classes=10, T=4, stem="cifar", width=8))
    report = check_deployable(fsnn, x)
    assert report.exportable and not report.refused
    rows = {r.name: r for r in report.rows}
    assert rows["layer2.0.connect"].detail.startswith("IAND") and rows["stem.bn"].detail.startswith("folded")
    energy = count_synaptic_ops(fold_bn(fsnn), x)
    mac = [r for r in energy.layers if r.mac]
    assert [r.name for r in mac] == ["stem.conv", "fc"]
    mac_share = sum(r.ops for r in mac) / sum(r.ops for r in energy.layers if r.op != "accumulate")
    assert 0.9 < report.spike_fraction == pytest.approx(1 - mac_share)
    assert 0 < report.performed_ac_fraction < report.spike_fraction  # spikes arrive at a rate < 1
    assert report.mac == pytest.approx(sum(r.ops for r in mac))
    assert "verdict: exportable to NIR" in report.table()


def test_sew_add_resnet_is_refused_at_every_add_and_the_layers_it_feeds(cifar_test):
    x = cifar_test[0][:32]
    sew = fresh("sew_resnet18", x, num_classes=10, T=4, stem="cifar", width=8)
    report = check_deployable(sew, x)
    refused = {r.name: r.detail for r in report.refused}
    adds = [n for n in refused if n.endswith(".connect")]
    assert len(adds) == 8 and all("ADD residual outputs 0, 1 or 2" in refused[n] for n in adds)
    assert "layer1.0.connect is not spikes" in refused["layer1.1.branch.conv1"]
    assert "layer4.1.connect is not spikes" in refused["fc"]
    fsnn = remove_aap(fresh("dst_resnet18", x, num_classes=10, T=4, stem="cifar", width=8))
    assert report.spike_fraction < check_deployable(fsnn, x).spike_fraction
    with pytest.raises(ExportError, match="layer1.0.connect.*ADD residual"):
        pytest.importorskip("nir")
        from fullspike.export import to_nir

        to_nir(sew, x)


def test_bntt_vgg9_is_refused_with_its_reasons(cifar_test):
    x = cifar_test[0][:8]
    vgg = fresh("vgg9_bntt", x, num_classes=10, T=3)
    report = check_deployable(vgg, x)
    refused = {r.name: r.detail for r in report.refused}
    assert "per-time-step BN scales" in refused["features.0"]
    assert "soft (subtractive) reset" in refused["features.2"]
    assert "average pooling features.6" in refused["features.7"]
    assert "one scale per time step" in refused["features.1"] and refused["features.0"].startswith("BNTT")
    assert {r.name for r in report.rows if r.ok} == {
        "encoder",
        "features.6",
        "features.13",
        "features.23",
        "classifier.0",
        "classifier.4",
    }
    assert report.input_kind == "images rate-coded into spikes over T steps"
    assert 0 < report.spike_fraction < 1


def test_dual_stream_models_and_attention_are_refused(cifar_test):
    x = cifar_test[0][:4]
    dst = fresh("dst_resnet18", x, num_classes=10, T=2, stem="cifar", width=4)
    report = check_deployable(dst, x)
    assert any("remove_aap" in r.detail for r in report.refused)
    spikformer = fresh("spikformer_4_384", x, num_classes=10, T=2, dim=32, depth=1, heads=2)
    assert [r.detail for r in check_deployable(spikformer, x).refused] == [
        "attention products (Q K^T V multiply two time-varying spike tensors) have no NIR node"
    ]


def test_the_core_and_the_check_work_without_nir(tmp_path):
    code = (
        "import sys; sys.modules['nir'] = None\n"
        "import torch\n"
        "from fullspike.export import check_deployable, to_nir\n"
        "from fullspike.models import create_model\n"
        "m = create_model('dst_resnet18', num_classes=10, T=2, stem='cifar', width=4, in_channels=1)\n"
        "x = torch.randn(2, 1, 8, 8)\n"
        "print(check_deployable(m, x).refused[0].name)\n"
        "try:\n    to_nir(m, x)\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "PATH": ""},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("MissingDependencyError NIR export needs nir, which is not installed")
    assert lines[-1].endswith("pip install 'fullspike[nir]'")


def test_file_errors_are_one_clear_line(tmp_path):
    pytest.importorskip("nir")
    from fullspike.export import from_nir, to_nir, write_nir

    m = create_model("dst_resnet18", num_classes=10, T=2, stem="cifar", width=4, in_channels=1)
    graph = to_nir(remove_aap(m), torch.randn(2, 1, 8, 8))
    with pytest.raises(ExportError, match="folder .*missing does not exist"):
        write_nir(graph, tmp_path / "missing" / "x.nir")
    with pytest.raises(ExportError, match="not found"):
        from_nir(tmp_path / "absent.nir")
    (tmp_path / "bad.nir").write_text("not hdf5")
    with pytest.raises(ExportError, match="cannot read NIR file"):
        from_nir(tmp_path / "bad.nir")
    with pytest.raises(ExportError, match="unknown gates"):
        to_nir(remove_aap(m), torch.randn(2, 1, 8, 8), gates="xor")


def test_event_count_frames_are_counts_not_spikes(nmnist_test):
    """N-MNIST frames hold event counts (values above 1): the report says so, and the first conv
    multiplies them; binary frames are spikes."""
    x = nmnist_test[0][:, :16]
    assert x.max() > 1
    model = create_model("spiking_convnet", T=4, width=4, hidden=16).eval()
    report = check_deployable(model, x)
    assert report.input_kind.startswith(f"event-count frames (integers 0..{int(x.max())} per pixel, not spikes")
    first = report.rows[0]
    assert first.name == "features.0" and "event counts per pixel" in first.detail
    assert report.exportable and "encoded spike frames" not in report.table()
    spikes = check_deployable(model, (x > 0).float())
    assert spikes.input_kind.startswith("spike frames (binary)") and spikes.rows[0].detail == "Conv2d on spikes"
    rows = {r.name: r for r in report.rows}
    assert rows["features.1"].detail == "folded into the conv/linear before it"  # the shared BN


@pytest.mark.parametrize("name", sorted(__import__("fullspike.zoo", fromlist=["cards"]).cards()))
def test_every_zoo_card_says_what_the_check_finds(name, cifar_strided, nmnist_frames, shared_data):
    """A card's "nir" line is nir_status (the --check code) of its network on its real test data."""
    from fullspike import zoo
    from fullspike.data import build_dataset
    from fullspike.export import nir_status

    card = zoo.card(name)
    if card["dataset"] == "cifar10":
        x = cifar_strided[0][::10]
    elif card["dataset"] == "nmnist":
        x = nmnist_frames(card["T"])[0][:, ::10]
    elif card["dataset"] == "fashion_mnist":
        ds, _ = build_dataset("fashion_mnist", str(shared_data / "fashion-mnist"), False)
        x = torch.stack([ds[i][0] for i in range(0, 10000, 1000)])
    else:
        pytest.skip(f"no real test data wired for {card['dataset']}")
    torch.manual_seed(0)
    assert card["nir"] == nir_status(zoo.load(name), x)


@pytest.mark.parametrize("max_batches", [0, -1])
def test_a_nonsense_batch_count_is_one_line_naming_it(max_batches):
    m = create_model("dst_resnet18", num_classes=10, T=2, stem="cifar", width=4, in_channels=1)
    with pytest.raises(ConfigError, match=r"^max_batches must be an integer >= 1 or None, got "):
        check_deployable(m, [torch.randn(2, 1, 8, 8)], max_batches=max_batches)
