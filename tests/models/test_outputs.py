"""Model outputs: the prediction a model is scored by, and the heads reported beside it."""

import torch

from fullspike.models.outputs import PREDICTION, DualStreamOutput, heads, prediction


def test_a_plain_model_is_scored_by_its_logits_alone():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    assert prediction(logits) is logits
    assert heads(logits) == {PREDICTION: logits} and PREDICTION == "prediction"


def test_the_dsnn_is_scored_by_the_mean_of_its_heads_and_reports_each():
    spike, accum = torch.tensor([[0.0, 4.0]]), torch.tensor([[2.0, 0.0]])
    out = DualStreamOutput(spike, accum)
    assert torch.equal(prediction(out), torch.tensor([[1.0, 2.0]]))
    h = heads(out)
    assert list(h) == [PREDICTION, "spike", "accum"]
    assert torch.equal(h[PREDICTION], prediction(out)) and h["spike"] is spike and h["accum"] is accum
