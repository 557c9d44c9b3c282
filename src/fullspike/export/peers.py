"""What other frameworks' NIR importers do with a graph's features (docs/deploy.md, "Importers").

Every entry of :data:`PEER_LIMITS` is a behaviour measured by tests/export/test_compat_matrix.py on
trained and untrained networks over 100 real test samples (the compatibility matrix of
docs/deploy.md); that test fails if an importer's measured status is not the one these entries
predict for the graph. ``--check`` prints :func:`peer_warnings` for the model's graph.
"""

from __future__ import annotations

import numpy as np

#: statuses of an importer on a graph
OK, REFUSES, WRONG = "ok", "refuses", "silently wrong"

#: graph features that change how importers read a graph (:func:`graph_features`)
FEATURES = {
    "fan-in": "a node summing several edges (residual joins, logical residual gates)",
    "threshold-nodes": "Threshold or Scale nodes (gates='threshold', quantised weights' scales)",
    "if-r": "IF neurons with r != 1 (every exported IF: r = 1/dt; gates='if')",
    "lif-r": "LIF neurons with r != 1 (leak-factor LIF: r = 1/(1 - leak))",
}

#: importer -> feature -> (status, why); measured with spikingjelly 2.0.0, norse 1.1.0, snntorch 1.0.0
PEER_LIMITS: dict[str, dict[str, tuple[str, str]]] = {
    "spikingjelly": {
        "threshold-nodes": (REFUSES, "has no Threshold/Scale mapping: export with gates='if'"),
    },
    "norse": {
        "threshold-nodes": (REFUSES, "has no Threshold/Scale mapping (KeyError)"),
        "fan-in": (
            WRONG,
            "runs graphs with residual joins in the wrong order: it returns an inner layer's "
            "output, not the classifier's, without an error",
        ),
        "lif-r": (
            WRONG,
            "ignores LIF r != 1 (it only logs a warning), so leak-factor LIF neurons get "
            "inputs 1/(1 - leak) times too small",
        ),
    },
    "snntorch": {
        "threshold-nodes": (REFUSES, "has no Threshold/Scale mapping"),
        "if-r": (REFUSES, "refuses IF nodes with r != 1 (AssertionError 'r != 1 not supported')"),
        "lif-r": (REFUSES, "refuses LIF nodes with r != 1 (AssertionError 'r != 1 not supported')"),
    },
}
PEERS = tuple(PEER_LIMITS)


def graph_features(graph) -> set[str]:
    """The :data:`FEATURES` a ``nir.NIRGraph`` has."""
    found: set[str] = set()
    fan_in: dict[str, int] = {}
    for _, dst in graph.edges:
        fan_in[dst] = fan_in.get(dst, 0) + 1
    if any(n > 1 for n in fan_in.values()):
        found.add("fan-in")
    for node in graph.nodes.values():
        kind = type(node).__name__
        if kind in ("Threshold", "Scale"):
            found.add("threshold-nodes")
        elif kind in ("IF", "LIF") and not np.allclose(np.asarray(node.r, dtype=np.float64), 1.0):
            found.add(kind.lower() + "-r")
    return found


def peer_status(graph, peer: str) -> tuple[str, list[str]]:
    """``(status, reasons)`` that :data:`PEER_LIMITS` predict for ``peer`` on ``graph``: refuses
    over silently wrong over ok."""
    hits = [PEER_LIMITS[peer][f] for f in sorted(graph_features(graph)) if f in PEER_LIMITS[peer]]
    for status in (REFUSES, WRONG):
        reasons = [why for s, why in hits if s == status]
        if reasons:
            return status, reasons
    return OK, []


def peer_warnings(graph) -> list[str]:
    """One line per importer that cannot run ``graph`` right, loudest (silently wrong) first."""
    lines = []
    for peer in PEERS:
        status, reasons = peer_status(graph, peer)
        if status == WRONG:
            lines.append(f"WARNING: {peer} runs this graph SILENTLY WRONG: {'; '.join(reasons)}")
        elif status == REFUSES:
            lines.append(f"note: {peer} refuses this graph: {'; '.join(reasons)}")
    return sorted(lines, key=lambda s: not s.startswith("WARNING"))
