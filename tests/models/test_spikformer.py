import pytest
import torch

from fullspike.dst import DualStreamBlock, remove_aap
from fullspike.errors import ConfigError
from fullspike.models import DualStreamOutput, create_model
from fullspike.models.spikformer import MatMul, SpikingSelfAttention
from fullspike.nn import LIF, SEWBlock, named_blocks

SMALL = dict(num_classes=10, T=2, dim=32, depth=2, heads=4)


def image(seed=0):
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def block_tensors(model, x):
    seen = []
    hooks = [
        b.register_forward_hook(lambda m, i, o: seen.extend([i[0], o[0] if isinstance(o, tuple) else o]))
        for _, b in named_blocks(model)
    ]
    out = model(x)
    for h in hooks:
        h.remove()
    return out, seen


def test_spikformer_4_384_size():
    with torch.device("meta"):
        model = create_model("spikformer_4_384", num_classes=10)
    assert len(model.layers) == 4 and model.fc.in_features == 384
    assert model.layers[0].attn.branch.heads == 12
    assert sum(p.numel() for p in model.parameters()) == 9_320_122  # the paper's "9.32M"


def test_add_and_iand_variants():
    torch.manual_seed(0)
    add, seen_add = block_tensors(create_model("spikformer_4_384", **SMALL), image())
    assert add.shape == (2, 10)
    iand_model = create_model("spikformer_4_384", connect="iand", **SMALL)
    iand, seen = block_tensors(iand_model, image())
    assert iand.shape == (2, 10)
    assert len(seen) == 2 * (1 + 2 * 2)  # rpe + (attn, mlp) per layer
    assert all(bool(((t == 0) | (t == 1)).all()) for t in seen)
    assert max(float(t.detach().max()) for t in seen_add) >= 2  # ADD is not full-spike


def test_dst_spikformer_removes_aap_bit_identically():
    torch.manual_seed(1)
    model = create_model("spikformer_4_384", connect="iand", dst=True, **SMALL)
    assert all(isinstance(b, DualStreamBlock) for n, b in named_blocks(model) if n.startswith("layers"))
    out = model(image(1))
    assert isinstance(out, DualStreamOutput) and out.accum.shape == (2, 10)
    fsnn = remove_aap(model)
    assert all(isinstance(b, SEWBlock) for _, b in named_blocks(fsnn))
    assert torch.equal(fsnn(image(1)), out.spike)
    with pytest.raises(ConfigError, match="full-spike"):
        create_model("spikformer_4_384", dst=True, connect="add")


def test_attention_structure_and_neurons():
    model = create_model("spikformer_4_384", **SMALL)
    attn = model.layers[0].attn.branch
    assert isinstance(attn, SpikingSelfAttention)
    assert isinstance(attn.qk, MatMul) and isinstance(attn.av, MatMul)
    assert attn.attn_sn.v_threshold == 0.5 and attn.q.sn.v_threshold == 1.0
    assert attn.q.linear.bias is None and attn.proj.linear.bias is not None
    lifs = [m for m in model.modules() if isinstance(m, LIF)]
    assert lifs and all(m.tau == 2.0 and m.detach_reset and m.v_reset == 0.0 for m in lifs)
    with pytest.raises(ConfigError, match="divisible"):
        create_model("spikformer_4_384", dim=36, heads=5)
