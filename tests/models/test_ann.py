"""ANN counterparts of the BNTT VGGs (robustness baseline)."""

import pytest
import torch
from torch import nn

import fullspike
from fullspike.errors import ShapeError
from fullspike.models.ann import ANNClassifier, ann_from_snn
from fullspike.nn import SpikingNeuron


@pytest.mark.parametrize("norm, bns", [("bntt", 3), ("none", 0)])
def test_same_architecture_with_relu_and_bn(norm, bns):
    snn = fullspike.create_model("bntt_convnet", T=4, width=4, hidden=8, image_size=8, norm=norm)
    ann = ann_from_snn(snn)
    kinds = lambda m, t: [type(x).__name__ for x in m.modules() if isinstance(x, t)]  # noqa: E731
    assert kinds(ann, (nn.Conv2d, nn.Linear)) == kinds(snn, (nn.Conv2d, nn.Linear))
    assert not kinds(ann, SpikingNeuron) and len(kinds(ann, nn.ReLU)) == 3
    assert len(kinds(ann, (nn.BatchNorm1d, nn.BatchNorm2d))) == bns
    torch.testing.assert_close(ann.features[0].weight, snn.features[0].weight)  # same initialisation
    ann.features[0].weight.data.zero_()
    assert snn.features[0].weight.abs().sum() > 0  # a copy, not shared


def test_registered_counterparts_train_and_check_inputs():
    torch.manual_seed(0)
    ann = fullspike.create_model("convnet_ann", num_classes=3, width=4, hidden=8, image_size=8)
    assert isinstance(ann, ANNClassifier)
    x, y = torch.randn(16, 1, 8, 8), torch.arange(16) % 3
    opt = torch.optim.SGD(ann.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        loss = nn.functional.cross_entropy(ann(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert fullspike.create_model("vgg9_ann")(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ShapeError, match="expects images"):
        ann(torch.randn(3, 2, 1, 8, 8))
