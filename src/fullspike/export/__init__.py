"""Deploying full-spike networks: NIR export and import, and the deployability check
(docs/deploy.md).

``to_nir(model, example_input)`` maps an FSNN onto standard NIR nodes; ``from_nir(graph_or_path)``
runs a NIR graph as a time-first module (``[T, B, ...] -> [T, B, classes]``);
``quantize_weights(model, bits)`` is the network a ``to_nir(..., quantize=bits)`` graph describes;
``check_deployable(model, inputs)`` reports, per layer, exportable or why not, and the share of
synaptic operations that are spike accumulates. The ``nir`` package (extra ``fullspike[nir]``)
is needed only to build, write or read graphs.
"""

from .check import DeployReport, check_deployable, deployable, nir_status
from .convert import to_nir, write_nir
from .graph import GATES, LayerStatus
from .importer import NIRNetwork, from_nir, read_nir
from .peers import peer_warnings
from .quantize import quantize_weights

__all__ = [
    "to_nir",
    "from_nir",
    "write_nir",
    "read_nir",
    "check_deployable",
    "DeployReport",
    "LayerStatus",
    "NIRNetwork",
    "GATES",
    "quantize_weights",
    "deployable",
    "nir_status",
    "peer_warnings",
]
