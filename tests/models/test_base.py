"""What every classifier shares (fullspike.models.base): the buffer pool its forward lends from."""
import copy

import pytest
import torch

import fullspike
from fullspike.models.outputs import classification_loss

# large enough that the neuron buffers and the spikes' bytes are pooled (>= 1 MiB)
NETS = {
    "vgg9_bntt": (dict(T=6, width=16, hidden=32), 16),
    "dst_resnet18": (dict(T=3, stem="cifar", width=16), 8),
}


def train(model, batch, pooled, steps=2):
    """``steps`` SGD steps of a copy on ``batch`` images, with the pool on or off; (outputs,
    parameters, buffers, pool bytes after each step)."""
    m = copy.deepcopy(model)
    m.pool_buffers = pooled
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    outs, held = [], []
    for _ in range(steps):
        x, y = torch.randn(batch, 3, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g)
        torch.manual_seed(1)
        out = m(x)
        opt.zero_grad()
        classification_loss(out, y).backward()
        opt.step()
        outs += [out] if isinstance(out, torch.Tensor) else list(out)
        held.append(0 if m.buffer_pool is None else m.buffer_pool.nbytes)
    return outs, dict(m.named_parameters()), dict(m.named_buffers()), held


@pytest.mark.parametrize("name", NETS)
def test_training_with_the_pool_is_bit_for_bit_training_without_it(name):
    kwargs, batch = NETS[name]
    model = fullspike.create_model(name, num_classes=10, **kwargs).train()
    out_a, params_a, bufs_a, held_a = train(model, batch, pooled=False)
    out_b, params_b, bufs_b, held_b = train(model, batch, pooled=True)
    assert held_a == [0, 0]
    # the pool was used, and the second step reused the first step's memory
    assert held_b[0] >= 2 << 20 and held_b[1] == held_b[0]
    for a, b in zip(out_a, out_b):
        assert torch.equal(a, b)
    for key, p in params_a.items():
        assert torch.equal(p, params_b[key]), key
    for key, buf in bufs_a.items():
        assert torch.equal(buf, bufs_b[key]), key


def test_the_pool_belongs_to_the_model_and_can_be_given_back():
    kwargs, _ = NETS["vgg9_bntt"]
    model = fullspike.create_model("vgg9_bntt", num_classes=10, **kwargs).train()
    pool = model.buffer_pool
    assert pool is model.buffer_pool and pool.nbytes == 0
    x = torch.randn(16, 3, 32, 32)
    ref = model(x)
    assert pool.nbytes > 0
    assert copy.deepcopy(model).buffer_pool.nbytes == 0  # copies start with an empty pool
    pool.clear()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(0)
    model.pool_buffers = False
    assert model.buffer_pool is None
    b = model(x)
    assert torch.equal(a, b) and ref.shape == a.shape
