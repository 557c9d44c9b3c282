"""Output buffers of the engine: shapes, and huge-page advice only for large CPU tensors."""

import os
import sys

import pytest
import torch

from fullspike.engine.buffers import HUGE_ADVICE_MIN, advise_huge_pages, empty_steps


def test_empty_steps_is_contiguous_with_the_requested_steps():
    like = torch.zeros(4, 3, 5).transpose(0, 1)  # [3, 4, 5], not contiguous
    out = empty_steps(like)
    assert out.shape == like.shape and out.is_contiguous() and out.dtype == like.dtype
    assert empty_steps(like.double(), 2).shape == (2, 4, 5)


def test_only_large_cpu_tensors_are_advised():
    assert advise_huge_pages(torch.empty(1024)) is False


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled"),
    reason="transparent huge pages are a Linux feature",
)
def test_a_large_buffer_is_advised_and_works():
    t = torch.empty(HUGE_ADVICE_MIN // 4)
    assert advise_huge_pages(t) is True
    t.fill_(2.0)
    assert float(t.sum()) == 2.0 * t.numel()
