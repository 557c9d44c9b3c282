"""build_eval_loader: a ``samples`` subset of a split stored class by class is class-balanced,
and the commands that take ``--samples`` count over that selection."""

import json
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from fullspike.cli import main
from fullspike.train import build_eval_loader, load_config

CLASSES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def ordered_folder(tmp_path_factory):
    """An image folder of 3 classes x 10 images per split; the class is in the pixels' level."""
    root = tmp_path_factory.mktemp("images")
    for split in ("train", "test"):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(10):
                pixels = np.full((8, 8, 3), 40 + 80 * c + i, np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i:02d}.png")
    return root


def overrides(root) -> list[str]:
    data = [f"data.root={root}", "data.name=imagefolder", "data.options={image_size: 8}", "data.batch_size=4"]
    model = ["model.T=2", "model.width=4", "model.hidden=8", "model.image_size=8", "model.in_channels=3"]
    return [*data, *model, "model.num_classes=3"]


def test_a_samples_subset_takes_every_class_not_the_first_ones(ordered_folder):
    cfg = load_config(None, overrides(ordered_folder))
    loader, _ = build_eval_loader(cfg, "test", samples=6)
    labels = [int(y) for _, y in loader.dataset]
    assert Counter(labels) == {0: 2, 1: 2, 2: 2}  # the first 6 would all be class "a"
    assert loader.dataset.indices == [0, 5, 10, 15, 20, 25]  # strided over each class
    assert len(build_eval_loader(cfg, "test")[0].dataset) == 30


def test_energy_counts_exactly_the_class_balanced_samples(ordered_folder, tmp_path):
    argv = ["energy", "--config", "quickstart", "--out", str(tmp_path), *overrides(ordered_folder)]
    assert main([*argv, "--samples", "6"]) == 0
    saved = json.loads((tmp_path / "energy.json").read_text())
    assert saved["summary"]["samples"] == 6  # not two whole batches of 4
    assert saved["analysis_set"]["class_counts"] == {"a": 2, "b": 2, "c": 2}  # and it says which
    assert main([*argv, "--samples", "0"]) == 2
