"""Progress bars: a bar iterates what it counts exactly once and draws nothing at random, whatever
tqdm front end draws it (tqdm.auto's asyncio class iterates an iterable it is handed twice)."""

import pytest
import torch
import tqdm.asyncio
import tqdm.auto
import tqdm.std
from torch.utils.data import DataLoader, TensorDataset

from fullspike import progress
from fullspike.progress import Bar, take_batches


class CountedLoader(DataLoader):
    """A DataLoader that counts how often it is started."""

    starts = 0

    def __iter__(self):
        self.starts += 1
        return super().__iter__()


def loader() -> CountedLoader:
    data = TensorDataset(torch.arange(10.0).view(10, 1), torch.arange(10))
    return CountedLoader(data, batch_size=3, shuffle=True)


def draws(wrap, stop: int | None = None) -> tuple[list, list, torch.Tensor]:
    """The batches of a loop over ``wrap(loader)`` (broken off after ``stop`` batches) that draws
    like a rate encoder, those draws, and torch's RNG state after it."""
    torch.manual_seed(0)
    batches, spikes = [], []
    for x, _ in wrap(loader()):
        batches.append(x)
        spikes.append(torch.rand_like(x))
        if len(batches) == stop:
            break
    return batches, spikes, torch.get_rng_state()


def same(a: tuple, b: tuple) -> bool:
    """Whether two :func:`draws` results hold the same batches, draws and RNG state."""
    (batches_a, spikes_a, state_a), (batches_b, spikes_b, state_b) = a, b
    return (
        len(batches_a) == len(batches_b)
        and all(map(torch.equal, batches_a + spikes_a, batches_b + spikes_b))
        and torch.equal(state_a, state_b)
    )


@pytest.mark.parametrize(
    "front_end", [tqdm.auto.tqdm, tqdm.asyncio.tqdm, tqdm.std.tqdm], ids=["auto", "asyncio", "std"]
)
@pytest.mark.parametrize("shown", [False, True])
def test_a_bar_leaves_the_loop_and_the_rng_as_they_are_without_it(monkeypatch, front_end, shown):
    monkeypatch.setattr(progress, "tqdm", front_end)
    plain = draws(lambda items: items)
    assert len(plain[0]) == 4
    assert same(draws(lambda items: Bar(items, "x", progress=shown)), plain)
    assert same(draws(lambda items: take_batches(items, 2, "x", shown)), draws(lambda items: items, stop=2))


def test_a_bar_starts_its_loader_once_and_counts_every_item(monkeypatch):
    monkeypatch.setattr(progress, "tqdm", tqdm.asyncio.tqdm)
    items = loader()
    bar = Bar(items, "x", progress=True)
    assert bar.tqdm.total == 4  # len(items)
    assert items.starts == 0  # nothing is started before the loop
    assert len(list(bar)) == 4
    assert items.starts == 1 and bar.tqdm.n == 4
