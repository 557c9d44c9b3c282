"""Output buffers of the engine: shapes, huge-page advice only for large CPU tensors, and the
buffer pool that lends them."""
import copy
import os
import pickle
import sys

import pytest
import torch

from fullspike.engine.buffers import (HUGE_ADVICE_MIN, BufferPool, advise_huge_pages, current_pool,
                                      empty_like_steps, empty_steps, lending)


def test_empty_steps_is_contiguous_with_the_requested_steps():
    like = torch.zeros(4, 3, 5).transpose(0, 1)  # [3, 4, 5], not contiguous
    out = empty_steps(like)
    assert out.shape == like.shape and out.is_contiguous() and out.dtype == like.dtype
    assert empty_steps(like.double(), 2).shape == (2, 4, 5)


def test_only_large_cpu_tensors_are_advised():
    assert advise_huge_pages(torch.empty(1024)) is False


@pytest.mark.skipif(not sys.platform.startswith("linux")
                    or not os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled"),
                    reason="transparent huge pages are a Linux feature")
def test_a_large_buffer_is_advised_and_works():
    t = torch.empty(HUGE_ADVICE_MIN // 4)
    assert advise_huge_pages(t) is True
    t.fill_(2.0)
    assert float(t.sum()) == 2.0 * t.numel()


MiB = 1 << 20


def test_the_pool_lends_a_storage_again_once_nothing_else_holds_it():
    pool = BufferPool()
    a = pool.empty((2, MiB), torch.float32)
    view = a[1]
    del a
    b = pool.empty((2, MiB), torch.float32)  # the first is still held through its view
    assert b.untyped_storage().data_ptr() != view.untyped_storage().data_ptr()
    assert pool.nbytes == 2 * 8 * MiB
    ptr = view.untyped_storage().data_ptr()
    del view
    c = pool.empty((2, MiB), torch.float32)
    assert c.untyped_storage().data_ptr() == ptr and pool.nbytes == 2 * 8 * MiB


def test_the_pool_serves_the_smallest_free_storage_within_its_waste_bound():
    pool = BufferPool()
    big, mid = pool.empty((4 * MiB,), torch.uint8), pool.empty((3 * MiB,), torch.uint8)
    ptrs = big.data_ptr(), mid.data_ptr()
    del big, mid
    held = pool.empty((2 * MiB,), torch.uint8)
    assert held.data_ptr() == ptrs[1]  # 3 MiB fits best
    # a 1.5 MiB request is not served from the 4 MiB storage (more than twice its size)
    assert pool.empty((3 * MiB // 2,), torch.uint8).data_ptr() not in ptrs
    assert pool.nbytes == (4 + 3 + 1.5) * MiB


def test_small_requests_are_left_to_the_allocator_and_layouts_are_kept():
    pool = BufferPool()
    small = pool.empty((8, 8), torch.float32)
    assert pool.nbytes == 0 and small.shape == (8, 8)
    permuted = pool.empty((4, 8, 64, 256), torch.float32, stride=(64 * 256, 4 * 64 * 256, 256, 1))
    assert permuted.stride() == (64 * 256, 4 * 64 * 256, 256, 1) and pool.nbytes == 4 * 8 * 64 * 256 * 4
    permuted.copy_(torch.arange(permuted.numel(), dtype=torch.float32).view(permuted.shape))
    assert float(permuted[3, 7, 63, 255]) == permuted.numel() - 1


def test_clear_copy_and_pickle_give_an_empty_pool():
    pool = BufferPool()
    kept = pool.empty((MiB,), torch.float32).fill_(3.0)
    assert copy.deepcopy(pool).nbytes == 0 and pickle.loads(pickle.dumps(pool)).nbytes == 0
    pool.clear()
    assert pool.nbytes == 0 and float(kept.sum()) == 3.0 * MiB  # lent tensors live on


def test_empty_steps_lends_from_the_pool_only_inside_lending():
    pool, like = BufferPool(), torch.zeros(4, 3, 256, 256)
    outside = empty_steps(like)
    with lending(pool):
        assert current_pool() is pool
        inside = empty_steps(like)
        grad = empty_like_steps(like.transpose(0, 1))
        with lending(None):
            assert current_pool() is None and empty_steps(like).shape == like.shape
    assert current_pool() is None
    assert pool.nbytes == 2 * like.numel() * 4 and outside.shape == inside.shape == like.shape
    assert grad.stride() == like.transpose(0, 1).stride()
