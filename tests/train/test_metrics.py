"""Metric objects: reset/update/compute, the dual-stream heads adapter, and what they refuse."""

import pytest
import torch

from fullspike.errors import TrainingError
from fullspike.models import DualStreamOutput
from fullspike.train.metrics import Accuracy, HeadAccuracies, MeanLoss


def test_mean_loss_weights_batches_by_their_size():
    m = MeanLoss()
    m.update(None, (None, torch.zeros(3)), torch.tensor(1.0))
    m.update(None, (None, torch.zeros(1)), torch.tensor(5.0))
    assert m.compute() == {"loss": pytest.approx(2.0)}
    m.reset()
    assert m.compute() == {}


def test_accuracy_of_logits_and_of_the_dual_stream_prediction():
    y = torch.tensor([0, 1, 1, 0])
    spike = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # 3 of 4 right
    accum = torch.tensor([[0.0, 3.0], [0.0, 3.0], [0.0, 3.0], [0.0, 3.0]])  # 2 of 4 right
    plain = Accuracy()
    plain.update(spike, (None, y), torch.tensor(0.0))
    assert plain.compute() == {"accuracy": 0.75}
    out = DualStreamOutput(spike, accum)
    dual, every = Accuracy(), HeadAccuracies()
    for m in (dual, every):
        m.update(out, (None, y), torch.tensor(0.0))
    combined = float((out.combined().argmax(1) == y).float().mean())
    assert dual.compute() == {"accuracy": combined}
    assert every.compute() == {"accuracy": combined, "accuracy_spike": 0.75, "accuracy_accum": 0.5}


def test_accuracy_refuses_what_is_not_classification():
    with pytest.raises(
        TrainingError,
        match=r"accuracy needs class logits \[B, K\] and integer labels \[B\].*"
        r"metrics=\[MeanLoss\(\)\]",
    ):
        Accuracy().update(torch.zeros(4, 3), (None, torch.zeros(4, 3)), torch.tensor(0.0))
