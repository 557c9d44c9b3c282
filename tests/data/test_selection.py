"""The class-balanced analysis set: equal shares per class whatever the data set's order, strided
within each class, deterministic, recorded with its class counts."""

import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from fullspike.data import DatasetInfo
from fullspike.data.selection import (
    INDICES_RULE,
    WHOLE_SPLIT_RULE,
    analysis_set,
    balanced_indices,
    dataset_labels,
    selected_loader,
)
from fullspike.errors import ConfigError


def test_a_class_ordered_set_gives_every_class_its_share():
    labels = [c for c in range(10) for _ in range(1000)]  # stored class by class, as an image folder
    chosen = balanced_indices(labels, 256)
    counts = [sum(labels[i] == c for i in chosen) for c in range(10)]
    assert counts == [26] * 6 + [25] * 4  # 256 = 10 x 25 + 6: the remainder to the lowest classes
    assert chosen == sorted(set(chosen))
    # each share strided over its class: airplanes 0, 38, 76, ... rather than the first 26
    assert [i for i in chosen if labels[i] == 0][:3] == [0, 38, 76]
    assert balanced_indices(labels, 256) == chosen  # deterministic


def test_a_small_class_gives_its_share_to_the_others():
    labels = [0] * 2 + [1] * 50 + [2] * 50
    chosen = balanced_indices(labels, 30)
    assert [sum(labels[i] == c for i in chosen) for c in range(3)] == [2, 14, 14]
    assert balanced_indices(labels, 500) == list(range(102))  # more than there are: all of them
    with pytest.raises(ConfigError, match="^samples must be an integer >= 1, got 0$"):
        balanced_indices(labels, 0)


def test_labels_are_read_through_subsets_and_recorded_by_class_name():
    x = torch.zeros(12, 1)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    ds = TensorDataset(x, y)  # no targets attribute: the second tensor holds the labels
    assert dataset_labels(ds) == y.tolist()
    sub = Subset(ds, [8, 9, 0, 4])
    assert dataset_labels(sub) == [2, 2, 0, 1]
    s = analysis_set(ds, 6, ["cat", "dog"])
    assert s.indices == [0, 2, 4, 6, 8, 10]
    assert s.to_dict() == {
        "size": 6,
        "split": "test",
        "indices_rule": INDICES_RULE,
        "class_counts": {"cat": 2, "dog": 2, "2": 2},
    }


def test_a_split_no_larger_than_asked_for_is_recorded_as_whole_not_as_balanced():
    y = torch.tensor([0] * 7 + [1] * 2)  # 9 samples, unbalanced
    whole = analysis_set(TensorDataset(torch.zeros(9, 1), y), 100).to_dict()
    assert whole["size"] == 9 and whole["class_counts"] == {"0": 7, "1": 2}
    assert whole["indices_rule"] == WHOLE_SPLIT_RULE != INDICES_RULE
    assert analysis_set(TensorDataset(torch.zeros(9, 1), y), 8).to_dict()["indices_rule"] == INDICES_RULE


class Counted(torch.utils.data.Dataset):
    """A data set that keeps no labels and counts the samples read."""

    def __init__(self, labels: list[int]):
        self.y, self.reads = labels, 0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        self.reads += 1
        return torch.zeros(1), self.y[i]


def test_labels_kept_by_a_data_set_are_used_and_otherwise_only_the_subset_is_read(caplog):
    full = Counted([i % 3 for i in range(5000)])
    assert dataset_labels(Subset(full, range(0, 5000, 100))) == [(100 * k) % 3 for k in range(50)]
    assert full.reads == 50  # the subset's samples, not the 5000 underneath
    assert "reading all 50 samples once for their labels" in caplog.text
    full.targets = full.y  # a targets attribute: nothing is read, nothing said
    caplog.clear()
    assert dataset_labels(Subset(full, [4, 5])) == [1, 2] and full.reads == 50 and not caplog.text


@pytest.mark.parametrize("samples", [2.5, True, "3"])  # 2.5 looped forever
def test_the_number_of_samples_is_an_integer(samples):
    with pytest.raises(ConfigError, match=r"^samples must be an integer >= 1, got "):
        balanced_indices([0, 1, 0, 1], samples)


@pytest.mark.parametrize("batch_size", [0, -1])
def test_a_selected_loader_needs_a_batch_size_of_at_least_one(batch_size):
    ds = TensorDataset(torch.zeros(4, 1), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ConfigError, match=r"^batch_size must be an integer >= 1, got "):
        selected_loader(ds, DatasetInfo(2, 1, 1, classes=["a", "b"]), 2, batch_size)
