"""The samples an analysis runs on: a class-balanced, deterministic selection.

Data sets are often stored class by class (an image folder lists every airplane before the first
automobile), so "the first N samples" can be a single class. :func:`balanced_indices` instead
gives every class the same share of ``samples`` (the remainder one each to the lowest class
indices; a class with too few samples gives its share to the others, round-robin), and takes
each class's share evenly strided over that class's samples in data-set order. The result is
recorded with the analysis (:meth:`AnalysisSet.to_dict`) so a reader can check what was measured.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import torch
from torch.utils.data import DataLoader, Subset, TensorDataset

from .. import checks

_LOG = logging.getLogger(__name__)

#: how :func:`balanced_indices` chooses, as recorded with every analysis
INDICES_RULE = (
    "class-balanced: an equal share per class (remainder to the lowest class indices, round-robin "
    "over classes with samples left), each share evenly strided over that class's samples in "
    "data-set order"
)
#: what is recorded instead when the split holds no more samples than were asked for: all of them
#: are used, so the classes are as the split has them, balanced or not
WHOLE_SPLIT_RULE = "the whole split (it holds no more samples than were asked for), its classes as they fall"


def _stored_labels(dataset) -> list[int] | None:
    """The labels ``dataset`` keeps beside its samples (``targets``, ``labels``, a
    ``TensorDataset``'s second tensor, through ``Subset``), or None when it keeps none."""
    if isinstance(dataset, Subset):
        inner = _stored_labels(dataset.dataset)
        return None if inner is None else [inner[i] for i in dataset.indices]
    values = next((getattr(dataset, a) for a in ("targets", "labels") if getattr(dataset, a, None) is not None), None)
    if values is None and isinstance(dataset, TensorDataset) and len(dataset.tensors) > 1:
        values = dataset.tensors[1]
    if values is None or len(values) != len(dataset):
        return None
    return [int(v) for v in (values.tolist() if isinstance(values, torch.Tensor) else values)]


def dataset_labels(dataset) -> list[int]:
    """The label of every sample of ``dataset``, in order: the labels it keeps (``targets``,
    ``labels``, a ``TensorDataset``'s second tensor, looking through ``Subset``), else read from
    each sample of it (of the subset only), which loads every sample once and says so."""
    stored = _stored_labels(dataset)
    if stored is not None:
        return stored
    _LOG.warning(
        f"{type(dataset).__name__} keeps no labels (a targets attribute): reading all {len(dataset)} samples "
        "once for their labels, to select a class-balanced set"
    )
    return [int(dataset[i][1]) for i in range(len(dataset))]


def balanced_indices(labels: Sequence[int], samples: int) -> list[int]:
    """Sorted indices of ``samples`` samples (an integer >= 1; all of them if there are fewer),
    balanced over the classes of ``labels`` as :data:`INDICES_RULE` says."""
    checks.count("samples", samples)
    members: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        members.setdefault(int(y), []).append(i)
    classes = sorted(members)
    quota = dict.fromkeys(classes, 0)
    left = min(samples, len(labels))
    while left:  # one per class with samples left, in class order, until the set is full
        for c in classes:
            if left and quota[c] < len(members[c]):
                quota[c] += 1
                left -= 1
    picked = [members[c][(k * len(members[c])) // quota[c]] for c in classes for k in range(quota[c])]
    return sorted(picked)


def balanced_selection(dataset, samples: int) -> list[int]:
    """Indices of the class-balanced selection of ``samples`` samples of ``dataset``
    (:func:`balanced_indices` over :func:`dataset_labels`): what every analysis runs on."""
    return balanced_indices(dataset_labels(dataset), samples)


@dataclass(frozen=True)
class AnalysisSet:
    """The samples an analysis used: ``indices`` into the split, how many of each class, and the
    rule that chose them (:data:`INDICES_RULE`, or :data:`WHOLE_SPLIT_RULE` when all were taken)."""

    indices: list[int]
    class_counts: dict[str, int]
    split: str = "test"
    rule: str = INDICES_RULE

    def to_dict(self) -> dict:
        """``{"size", "split", "indices_rule", "class_counts"}`` (what results stores record)."""
        return {
            "size": len(self.indices),
            "split": self.split,
            "indices_rule": self.rule,
            "class_counts": self.class_counts,
        }


def analysis_set(dataset, samples: int, class_names: Sequence[str] = (), split: str = "test") -> AnalysisSet:
    """The class-balanced selection of ``samples`` samples of ``dataset``, with its class counts
    keyed by ``class_names`` (class index as text where a name is missing); the whole of
    ``dataset``, recorded as such, when it holds no more than ``samples``."""
    labels = dataset_labels(dataset)
    indices = balanced_indices(labels, samples)
    counts = Counter(labels[i] for i in indices)
    names = {c: class_names[c] if c < len(class_names) else str(c) for c in counts}
    rule = WHOLE_SPLIT_RULE if len(indices) == len(labels) else INDICES_RULE
    return AnalysisSet(indices, {names[c]: counts[c] for c in sorted(counts)}, split, rule)


def selected_loader(
    dataset, info, samples: int, batch_size: int, split: str = "test", num_workers: int = 0
) -> tuple[DataLoader, AnalysisSet]:
    """An unshuffled loader, ``batch_size`` (>= 1) samples a batch, over the class-balanced
    selection of ``samples`` (>= 1) samples of ``dataset`` (one split, with its
    :class:`~fullspike.data.DatasetInfo` ``info``), and that selection (:func:`analysis_set`,
    what results record as ``analysis_set``)."""
    from .registry import make_loader

    checks.count("batch_size", batch_size)
    chosen = analysis_set(dataset, samples, info.classes, split)
    subset = dataset if len(chosen.indices) == len(dataset) else Subset(dataset, chosen.indices)
    return make_loader(subset, info, batch_size, False, num_workers), chosen
