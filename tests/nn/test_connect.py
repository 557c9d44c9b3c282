import pytest
import torch

from fullspike.errors import ConfigError
from fullspike.nn import CONNECTS, FULL_SPIKE, Connect, SpikeValueError, check_binary, connect

O = torch.tensor([0.0, 0.0, 1.0, 1.0])  # noqa: E741 (the paper's O and S)
S = torch.tensor([0.0, 1.0, 0.0, 1.0])

# rows (O, S') = (0,0), (0,1), (1,0), (1,1): docs/methods.md, "DST"
TRUTH = {
    "add": [0, 1, 1, 2],
    "and": [0, 0, 0, 1],
    "iand": [0, 1, 0, 0],
    "or": [0, 1, 1, 1],
    "xor": [0, 1, 1, 0],
}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_truth_tables(name):
    assert connect(name)(O, S).tolist() == TRUTH[name]
    assert Connect(name)(O, S).tolist() == TRUTH[name]


def test_every_connect_has_a_truth_table_and_full_spike_excludes_add():
    assert set(CONNECTS.names()) == set(TRUTH)
    assert set(FULL_SPIKE) == set(TRUTH) - {"add"}
    assert Connect("iand").full_spike and not Connect("add").full_spike


def test_names_are_case_insensitive_and_unknown_names_fail():
    assert Connect("IAND").name == "iand"
    with pytest.raises(ConfigError, match="unknown connect function 'nand'"):
        connect("nand")


@pytest.mark.parametrize("name", sorted(FULL_SPIKE))
def test_full_spike_outputs_are_binary_on_random_spikes(name):
    g = torch.Generator().manual_seed(0)
    o = (torch.rand(2, 3, 4, 5, generator=g) < 0.5).float()
    s = (torch.rand(2, 3, 4, 5, generator=g) < 0.5).float()
    out = connect(name)(o, s)
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_validation_mode_rejects_non_binary_inputs():
    g = connect("iand", validate=True)
    assert g(O, S).tolist() == TRUTH["iand"]
    with pytest.raises(SpikeValueError, match="IAND shortcut input S' must hold binary spikes"):
        g(O, S * 2)
    with pytest.raises(SpikeValueError, match="branch input O"):
        Connect("or", validate=True)(O + 0.5, S)
    check_binary(torch.tensor([0.0, 1.0]))  # passes silently


def test_surrogate_gradients_flow_through_both_inputs():
    o, s = O.clone().requires_grad_(), S.clone().requires_grad_()
    connect("iand")(o, s).sum().backward()
    assert o.grad.tolist() == (-S).tolist()  # d/dO  S'(1-O) = -S'
    assert s.grad.tolist() == (1 - O).tolist()
