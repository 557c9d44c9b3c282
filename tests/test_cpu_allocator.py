"""fullspike.cpu_allocator: glibc keeps freed memory once tuned."""

import platform
import subprocess
import sys
import textwrap

import pytest

from fullspike import cpu_allocator

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the allocator tuning applies to glibc only",
)

# allocate and free a 256 MiB tensor, then report how much of it the process still holds
PROBE = textwrap.dedent("""
    import sys, torch
    from fullspike import cpu_allocator
    tuned = sys.argv[1] == "1" and cpu_allocator.tune_cpu_allocator()
    def rss_mib():
        return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
    before = rss_mib()
    x = torch.ones(64, 1 << 20)
    del x
    print(tuned, cpu_allocator._tuned, round(rss_mib() - before))
""")


def _probe(tune: bool) -> tuple[str, str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "1" if tune else "0"], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], out[1], int(out[2])


@glibc
def test_tuned_process_keeps_freed_memory_and_default_returns_it():
    tuned, flag, kept = _probe(True)
    assert (tuned, flag) == ("True", "True")
    assert kept >= 250  # the freed 256 MiB stays in the heap for the next step
    tuned, flag, kept = _probe(False)
    assert (tuned, flag) == ("False", "False")
    assert kept < 16  # glibc unmapped it


class FakeMallopt:
    """Records mallopt calls (so this process's allocator is left alone)."""

    def __init__(self, answer: int) -> None:
        self.calls, self.answer = [], answer

    def __call__(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


def test_tuning_sets_mmap_max_and_trim_threshold_once(monkeypatch):
    mallopt = FakeMallopt(answer=1)
    monkeypatch.setattr(cpu_allocator, "_tuned", False)
    monkeypatch.setattr(cpu_allocator, "_mallopt", lambda: mallopt)
    assert cpu_allocator.tune_cpu_allocator() is True
    assert cpu_allocator.tune_cpu_allocator() is True  # idempotent: no second round of calls
    assert mallopt.calls == [(cpu_allocator.M_MMAP_MAX, 0), (cpu_allocator.M_TRIM_THRESHOLD, 2**31 - 1)]
    assert cpu_allocator._tuned


def test_a_refused_mallopt_reports_false(monkeypatch):
    monkeypatch.setattr(cpu_allocator, "_tuned", False)
    monkeypatch.setattr(cpu_allocator, "_mallopt", lambda: FakeMallopt(answer=0))
    assert cpu_allocator.tune_cpu_allocator() is False


def test_not_glibc_is_a_clean_no(monkeypatch):
    monkeypatch.setattr(cpu_allocator, "_tuned", False)
    monkeypatch.setattr(cpu_allocator, "_mallopt", lambda: None)
    assert cpu_allocator.tune_cpu_allocator() is False
    assert not cpu_allocator._tuned
