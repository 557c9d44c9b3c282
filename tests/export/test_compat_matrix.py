"""The compatibility matrix of docs/deploy.md, measured: every zoo network whose card says it
exports (trained) and two small feed-forward nets, each exported with both gate styles (where they
differ) and run on 100 real test samples by fullspike's own importer and by SpikingJelly's, Norse's
and snnTorch's NIR importers. Each cell is ok (every prediction and >= 99.9% of the spikes of
every spiking layer the importer lets us read are the same as the BN-folded fullspike model's,
which is the network the graph holds), refuses (the importer raises) or silently wrong (it runs
and disagrees), with the reason.

A test checks that docs/deploy.md shows what this machine measures, rendered at a precision that
float rounding does not change (scripts/render_deploy_matrix.py); ``FULLSPIKE_WRITE_COMPAT=1``
writes the measurement to docs/deploy_compat.json, which that script renders into the doc. The
measured statuses must be the ones fullspike.export.peers predicts from each graph's features
(what ``--check`` prints)."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import warnings
from pathlib import Path

import pytest
import torch
from harness import DT, chain_net, record_spikes, run_norse, run_snntorch, run_spikingjelly
from torch import nn

from fullspike import zoo
from fullspike.energy import estimate_bn_stats, fold_bn
from fullspike.export.peers import OK, PEERS, REFUSES, WRONG, graph_features, peer_status
from fullspike.nn import PLIF, set_backend

nir = pytest.importorskip("nir")
from fullspike.export import deployable, from_nir, to_nir, write_nir  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "deploy_compat.json"
IMPORTERS = ("fullspike", *PEERS)
SPIKES_OK = 0.999


def exportable_zoo() -> list[str]:
    """The zoo networks whose card says they export (the card's line is nir_status's)."""
    return sorted(n for n, c in zoo.cards().items() if c.get("nir", "").startswith("NIR: exportable"))


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:160] if text else ''}".rstrip(": ")


class _Log(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0])


def run_fullspike(graph, x_seq, names):
    net = from_nir(graph, dt=DT)
    with torch.no_grad():
        out = net.nodes(x_seq)
    return out[net.output_name], {n: out[n] for n in names}


def run_peer(importer: str, graph, x_seq: torch.Tensor, names: list[str]):
    if importer == "norse":
        return run_norse(graph, x_seq, names, ignore_warnings=False)
    return {"fullspike": run_fullspike, "spikingjelly": run_spikingjelly, "snntorch": run_snntorch}[importer](
        graph, x_seq, names
    )


def measure(importer: str, graph, x_seq: torch.Tensor, ref: torch.Tensor, spikes: dict) -> dict:
    """One cell: status, reason, and the agreement numbers when the importer ran."""
    names = [n for n in spikes if n in graph.nodes]
    assert len(names) == len(spikes), "every spiking layer of the model is a node of its graph"
    log = _Log()
    logging.getLogger().addHandler(log)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first, _ = run_peer(importer, graph, x_seq[:, :1], names)  # a wrong output shape shows at once
            if tuple(first.shape[2:]) != tuple(ref.shape[1:]):
                return {
                    "status": WRONG,
                    "reason": f"runs without an error but returns {list(first.shape[2:])} per "
                    f"step, not the classifier's {list(ref.shape[1:])}",
                    **_warned(log),
                }
            steps, theirs = run_peer(importer, graph, x_seq, names)
    except Exception as e:  # the importer refuses the graph: the status, with its message
        return {"status": REFUSES, "reason": _first_line(e), **_warned(log)}
    finally:
        logging.getLogger().removeHandler(log)
    B = ref.shape[0]
    same = int((steps.mean(0).argmax(-1) == ref.argmax(-1)).sum())
    equal = total = 0
    for n, s in spikes.items():
        equal += int((theirs[n].reshape(s.shape) == s).sum())
        total += s.numel()
    share = equal / total
    cell = {
        "predictions": same,
        "samples": B,
        "spikes_equal": round(share, 6),
        "max_logit_diff": float(f"{(steps.mean(0) - ref).abs().max().item():.2g}"),
    }
    if same == B and share >= SPIKES_OK:
        return {"status": OK, "reason": "", **cell}
    return {
        "status": WRONG,
        "reason": f"runs without an error; same prediction {same}/{B}, identical spikes {100 * share:.2f}%",
        **cell,
        **_warned(log),
    }


def _warned(log: _Log) -> dict:
    return {"logged": sorted(set(log.messages))} if log.messages else {}


def net_rows(name: str, model: nn.Module, x: torch.Tensor, T: int, kind: str, folder: Path) -> dict:
    """Every importer on ``model``'s graphs (gates "if", and "threshold" where it differs), each
    written to a .nir file in ``folder`` and read back (the fullspike cell is the API round trip),
    against the BN-folded model: what the graph holds (folding rounds differently from the model
    as trained, a float32 effect the export CLI measures apart)."""
    set_backend(model, "loop")
    ref, spikes = record_spikes(fold_bn(model), x, T)
    ref = ref.mean(0) if ref.dim() == 3 else ref  # a bare sequence's per-step outputs -> logits
    x_seq = x.unsqueeze(0).expand(T, *x.shape) if x.dim() == 4 else x
    rows = {}
    for gates in ("if", "threshold"):
        graph = nir.read(write_nir(to_nir(model, x, dt=DT, gates=gates, name=name), folder / f"{gates}.nir"))
        if gates == "threshold" and not {"threshold-nodes"} & graph_features(graph):
            rows["if"]["gates"] = "if = threshold (no gates)"
            continue
        cells = {imp: measure(imp, graph, x_seq, ref, spikes) for imp in IMPORTERS}
        predicted = {p: peer_status(graph, p)[0] for p in PEERS}
        rows[gates] = {
            "gates": gates,
            "features": sorted(graph_features(graph)),
            "cells": cells,
            "predicted": predicted,
        }
    return {"kind": kind, "samples": int(ref.shape[0]), "T": T, "rows": rows}


@pytest.fixture(scope="module")
def matrix(cifar_strided, nmnist_frames, tmp_path_factory) -> dict:
    for peer in PEERS:
        pytest.importorskip(peer)
    nets = {}
    for name in exportable_zoo():
        card = zoo.card(name)
        model, _ = deployable(zoo.load(name), name)
        if card["dataset"] == "nmnist":
            x = nmnist_frames(card["T"])[0]
        elif card["dataset"] == "cifar10":
            x = cifar_strided[0]
        else:
            raise AssertionError(f"no real test data wired up for zoo dataset {card['dataset']}")
        nets[f"zoo:{name}"] = net_rows(
            name, model.eval(), x, card["T"], f"trained zoo network, {card['dataset']}", tmp_path_factory.mktemp(name)
        )
    x4 = nmnist_frames(4)[0]
    for pool, label in ((True, "chain_maxpool_if_plif_lif"), (False, "chain_strided_lif")):
        torch.manual_seed(0)
        model = chain_net(pool)
        for m in model.modules():
            if isinstance(m, PLIF):
                m.w.data.fill_(0.4)  # a learned tau of 1.67 steps
        set_backend(model, "loop")
        estimate_bn_stats(model, x4[:, :50])
        nets[label] = net_rows(
            label,
            model.eval(),
            x4,
            4,
            "small feed-forward net (BN statistics of N-MNIST, untrained), nmnist",
            tmp_path_factory.mktemp(label),
        )
    versions = {p: importlib.metadata.version(p) for p in ("spikingjelly", "norse", "snntorch", "nir", "nirtorch")}
    return {"generated_by": "tests/export/test_compat_matrix.py", "versions": versions, "nets": nets}


def test_every_exportable_zoo_network_is_in_the_matrix(matrix):
    names = exportable_zoo()
    assert len(names) >= 2, f"the zoo should hold at least two exportable networks, has {names}"
    assert all(f"zoo:{n}" in matrix["nets"] for n in names)


def test_fullspike_reads_every_graph_exactly(matrix):
    for net in matrix["nets"].values():
        for row in net["rows"].values():
            cell = row["cells"]["fullspike"]
            assert cell["status"] == OK and cell["spikes_equal"] == 1.0 and cell["max_logit_diff"] < 1e-4, cell


def test_the_peers_limits_predict_every_measured_status(matrix):
    """What --check prints about other importers (fullspike.export.peers) is what they do."""
    for name, net in matrix["nets"].items():
        for row in net["rows"].values():
            for peer in PEERS:
                assert row["cells"][peer]["status"] == row["predicted"][peer], (
                    name,
                    row["gates"],
                    peer,
                    row["cells"][peer],
                )


def test_the_doc_shows_what_is_measured_here(matrix, load_script):
    """At the doc's precision the matrix does not depend on the machine; the file is written only
    when asked (a test run leaves the checkout as it was)."""
    measured = json.dumps(matrix, indent=1, sort_keys=True) + "\n"
    if os.environ.get("FULLSPIKE_WRITE_COMPAT"):
        RESULTS.write_text(measured)
    render = load_script("render_deploy_matrix")
    assert render.current_block() == render.render(json.loads(measured)), (
        "docs/deploy.md's matrix is not what is measured here: run FULLSPIKE_WRITE_COMPAT=1 pytest "
        "tests/export/test_compat_matrix.py, then python scripts/render_deploy_matrix.py"
    )


def test_the_doc_is_the_rendering_of_the_committed_results(load_script):
    """No data needed: the committed docs/deploy.md shows the committed docs/deploy_compat.json."""
    render = load_script("render_deploy_matrix")
    assert render.current_block() == render.render(json.loads(RESULTS.read_text()))
