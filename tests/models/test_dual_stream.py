"""The dual-stream classifier protocol: one forward for every DST network, one AAP-removal hook."""

import pytest
import torch
from torch import nn

from fullspike.analysis.early_exit import step_outputs
from fullspike.dst import AccumulationPath, DualStreamBlock, has_aap, remove_aap, residual_block
from fullspike.errors import ConfigError
from fullspike.functional import per_step
from fullspike.models import DualStreamClassifier, DualStreamOutput, StepwiseClassifier, create_model
from fullspike.models.common import neurons


class TinyDST(DualStreamClassifier):
    """A user's own dual-stream network: two DST blocks and an accumulation-stream pooling."""

    def __init__(self) -> None:
        super().__init__(T=2, in_channels=4, num_classes=3)
        self.dual_stream = True
        make_sn = neurons("if", "sigmoid")
        self.block1 = residual_block("dst", "basic", 4, 4, 1, make_sn)
        self.pool = nn.MaxPool2d(2)
        self.accum_pool = Pool()
        self.block2 = residual_block("dst", "basic", 4, 4, 1, make_sn)
        self.fc = nn.Linear(4, 3)

    def embed(self, x):
        return x

    def stages(self):
        return [(self.block1, None), (lambda s: per_step(self.pool, s), self.accum_pool), (self.block2, None)]

    def forward_head(self, x):
        return self.fc(x.mean(dim=(0, 3, 4)))

    def drop_accumulation_modules(self):
        self.accum_pool = None


class Pool(AccumulationPath):
    def forward(self, a):
        return per_step(lambda t: nn.functional.max_pool2d(t, 2), a)


def frames(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(2, 3, 4, 8, 8, generator=g) < 0.4).float()


def test_a_user_dual_stream_network_runs_both_streams_and_loses_the_aap():
    torch.manual_seed(0)
    net = TinyDST()  # training mode: batch statistics, so the branches fire
    x = frames()
    s, a = net.forward_features(x)
    assert s.shape == a.shape == (2, 3, 4, 4, 4) and not torch.equal(s, a)
    out = net(x)
    assert isinstance(out, DualStreamOutput)
    assert torch.equal(out.spike, net.forward_head(s)) and torch.equal(out.accum, net.forward_head(a))
    fsnn = remove_aap(net)
    assert not has_aap(fsnn) and fsnn.accum_pool is None and net.accum_pool is not None
    assert not any(isinstance(m, DualStreamBlock) for m in fsnn.modules())
    assert fsnn.forward_features(x)[1] is None
    assert torch.equal(fsnn(x), out.spike)  # the spike stream is untouched


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("dst_resnet18", dict(T=2, width=4, stem="cifar", num_classes=5)),
        ("dst_7bnet", dict(T=2, image_size=128, num_classes=5)),
        ("spikformer_4_384", dict(T=2, dst=True, connect="iand", dim=16, depth=1, heads=2, num_classes=5)),
    ],
)
def test_every_dst_network_is_a_dual_stream_classifier(name, kwargs):
    torch.manual_seed(0)
    model = create_model(name, **kwargs).eval()
    assert isinstance(model, DualStreamClassifier) and model.carries_aap
    x = torch.rand(2, model.in_channels, 32 if "7bnet" not in name else 128, 32 if "7bnet" not in name else 128)
    out = model(x)
    s, a = model.forward_features(x)
    assert torch.equal(out.spike, model.forward_head(s)) and torch.equal(out.accum, model.forward_head(a))
    fsnn = remove_aap(model)
    assert not fsnn.carries_aap and torch.equal(fsnn(x), out.spike)


def test_an_undeclared_accumulation_module_is_reported():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Pool()

    with pytest.raises(ConfigError, match="left accumulation modules behind.*CarriesAAP"):
        remove_aap(Holder())


def test_early_exit_needs_a_stepwise_classifier():
    assert isinstance(create_model("bntt_convnet", T=2, width=4, hidden=8), StepwiseClassifier)
    with pytest.raises(ConfigError, match="has no forward_steps"):
        step_outputs(create_model("sew_resnet18", T=2, width=4, stem="cifar"), [(frames(), torch.zeros(3))])
