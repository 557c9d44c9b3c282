"""Seeded draws: the same seed gives the same draws, and the caller's generator is left alone."""

import torch

from fullspike.seeding import seeded_draws


def test_seeded_draws_repeat_and_leave_the_caller_s_stream_alone():
    torch.manual_seed(7)
    before = torch.get_rng_state()
    with seeded_draws(3, "cpu"):
        first = torch.rand(5)
    assert torch.equal(torch.get_rng_state(), before)  # neither advanced nor reseeded
    with seeded_draws(3, torch.device("cpu")):
        assert torch.equal(torch.rand(5), first)
    with seeded_draws(4, "cpu"):
        assert not torch.equal(torch.rand(5), first)
