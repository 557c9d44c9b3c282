"""`fullspike export`: a trained run or zoo network to a .nir file, the --check report, quantised
weights, and bad input as one line."""

import re
import tarfile

import pytest
import yaml

from fullspike.cli import main
from fullspike.train import fit, load_config

pytest.importorskip("nir")

DST = {
    "name": "dst",
    "model": {"name": "dst_resnet18", "stem": "cifar", "width": 4, "T": 3},
    "data": {"name": "digits", "batch_size": 32, "train_subset": 64, "test_subset": 32},
    "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 1, "tensorboard": False},
}
BNTT = [
    "model.T=3",
    "model.width=4",
    "model.hidden=16",
    "data.train_subset=64",
    "data.test_subset=32",
    "train.epochs=1",
    "train.tensorboard=false",
]


#: a full-spike conv net fed rate-coded images: the graph takes the encoded spike frames
RATE = {"name": "spiking_convnet", "encoding": "rate", "T": 3, "width": 4, "hidden": 16}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    (root / "dst.yaml").write_text(yaml.safe_dump(DST))
    fit(load_config(root / "dst.yaml"), root / "dst")
    fit(load_config(None, BNTT), root / "bntt")
    (root / "rate.yaml").write_text(yaml.safe_dump({**DST, "name": "rate", "model": RATE}))
    fit(load_config(root / "rate.yaml"), root / "rate")
    (root / "ann.yaml").write_text(yaml.safe_dump({**DST, "name": "ann", "model": {"name": "convnet_ann", "width": 4}}))
    fit(load_config(root / "ann.yaml"), root / "ann")
    return root


def test_export_a_dst_run_writes_its_fsnn_and_checks_the_round_trip(runs, tmp_path, capsys):
    out = tmp_path / "dst.nir"
    assert main(["export", str(runs / "dst"), "--format", "nir", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.stat().st_size > 0
    assert "dst_resnet18 (FSNN: accumulation pathway removed)" in text and "fires on h >= v_th, T=3" in text
    diff = float(re.search(r"max \|logit diff\| (\S+),", text).group(1))
    assert diff < 1e-5 and "same prediction 32/32" in text
    from fullspike.export import from_nir

    assert from_nir(out).dt == 1e-4


def test_a_rate_coded_network_is_checked_on_the_frames_it_encodes(runs, tmp_path, capsys):
    """Rate coding is random and outside the graph: the round trip feeds the graph the frames the
    model encoded, not the raw image, so it holds exactly (it once compared against a repeated image)."""
    assert main(["export", str(runs / "rate"), "--out", str(tmp_path / "r.nir"), "--samples", "32"]) == 0
    text = capsys.readouterr().out
    diff = float(re.search(r"max \|logit diff\| (\S+),", text).group(1))
    assert diff < 1e-5 and "same prediction 32/32" in text.split("BN folding")[0], text


def test_a_failed_round_trip_is_an_error(runs, tmp_path, capsys, monkeypatch):
    import fullspike.export

    read = fullspike.export.from_nir
    monkeypatch.setattr(fullspike.export, "from_nir", lambda p: lambda f: read(p)(f) + 0.5 * f.new_ones(()))
    assert main(["export", str(runs / "dst"), "--out", str(tmp_path / "d.nir")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the round trip failed") and "max |logit diff| 0.5" in err and "\n" not in err


def test_check_prints_the_report(runs, capsys):
    assert main(["export", str(runs / "dst" / "checkpoint.pt"), "--check", "--samples", "32"]) == 0
    text = capsys.readouterr().out
    assert "layer4.1.connect" in text and "spike accumulates:" in text and "verdict: exportable to NIR" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["{runs}/absent"], "checkpoint {runs}/absent not found"),
        (["{runs}"], "has no checkpoint.pt"),
        (["{runs}/dst", "--out", "{runs}/dst/checkpoint.pt/x.nir"], "a file of that name is in the way"),
        (["{runs}/dst", "--out", "{runs}/missing/x.nir"], "folder {runs}/missing does not exist"),
        (["{runs}/dst", "--out", "{runs}/dst/checkpoint.pt"], "it is the checkpoint {runs}/dst/checkpoint.pt, which"),
        (["{runs}/dst"], "give --out FILE.nir"),
        (["{runs}/bntt", "--out", "{runs}/b.nir"], "cannot export layer 'features.0' (Conv2d) to NIR: BNTT"),
        (["{runs}/dst", "--check", "--quantize", "3"], "quantize needs a weight width of 4..16 bits, got 3"),
        (["zoo:nothing", "--check"], "unknown pretrained model 'nothing'"),
        (["{runs}/ann", "--out", "{runs}/a.nir"], "ANNClassifier has no spiking neurons (an ANN?)"),
        (["{runs}/ann", "--check"], "ANNClassifier has no spiking neurons (an ANN?)"),
    ],
)
def test_bad_input_is_one_error_line(runs, capsys, args, message):
    args = [a.format(runs=runs) for a in args]
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and message.format(runs=runs) in err


def test_quantized_export_and_its_accuracy_next_to_float(runs, tmp_path, capsys):
    out = tmp_path / "q.nir"
    assert main(["export", str(runs / "dst"), "--check", "--quantize", "8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    acc = re.search(
        r"accuracy on 32 test samples: float weights (\S+)% \((\d+)/32\); 8-bit weights (\S+)% "
        r"\((\d+)/32\), same prediction as float (\d+)/32",
        text,
    )
    assert acc, text
    assert "8-bit weights" in text and "round trip on 32 test samples against the quantised model" in text
    diff = float(re.search(r"max \|logit diff\| (\S+),", text).group(1))
    assert diff < 1e-4 and "same prediction 32/32" in text
    import numpy as np

    from fullspike.export import read_nir

    graph = read_nir(out)
    w = np.asarray(graph.nodes["layer1.0.branch.conv1"].weight)
    assert np.array_equal(w, np.round(w)) and np.abs(w).max() == 127
    assert "layer1.0.branch.conv1.scale" in graph.nodes


def test_zoo_fsnn_round_trips_in_float32_on_real_cifar10(shared_data, tmp_path, capsys):
    """The trained zoo DST ResNet-18 as its FSNN, float32, on 100 CIFAR-10 test images strided
    over the test set (10 per class): the graph computes what the BN-folded model computes (every
    prediction kept, logits within 1e-4); folding itself rounds differently from the model as
    trained, which can flip a spike near the threshold (docs/deploy.md), and keeps the predictions."""
    with tarfile.open(shared_data / "cifar10-jpg-test.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    out = tmp_path / "r18.nir"
    assert main(["export", "zoo:cifar10_dst_resnet18_w16", f"data.root={tmp_path}", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "float32" in text and "FSNN: accumulation pathway removed" in text
    diff = float(re.search(r"max \|logit diff\| (\S+),", text).group(1))
    print(text)
    assert diff < 1e-4 and "round trip on 100 test samples against the BN-folded model" in text
    assert "same prediction 100/100" in text.split("BN folding")[0]
    folding = re.search(
        r"BN folding against the model as trained .*: max \|logit diff\| (\S+), same prediction (\d+)/100", text
    )
    assert folding and float(folding.group(1)) < 0.5 and int(folding.group(2)) >= 99, text
