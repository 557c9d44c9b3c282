"""Measuring one (case, framework, mode) in the current process: step time and peak memory.

A training step (:func:`make_step`) is ``zero_grad -> forward -> loss -> backward -> optimiser
step`` (SGD with momentum; the one-layer case has no parameters, so its step is forward +
backward to the input), with the model in training mode. An inference step
(:func:`make_inference_step`) is the forward of the same inputs with the model in evaluation
mode under :func:`torch.no_grad` (no loss, nothing recorded for backward). Both are timed and
measured alike. Time: wall clock per step after ``warmup`` steps (compilation happens there;
the first step's time is reported separately), median of ``reps`` steps; or, for the frameworks of
one case built side by side in one process, their steps taken in turn (:func:`time_interleaved`,
the issue-15 "one process, interleaved" method). Peak memory: one more
step run under :mod:`torch.profiler` with ``profile_memory=True``; the peak of the running sum
of PyTorch allocations and frees during the step, i.e. the most tensor memory the step held at
once on top of what was alive before it (model, optimiser state, inputs). This counts every
tensor PyTorch allocates for any framework, independently of how the C allocator caches memory
(RSS is not used: glibc keeps freed memory, which hides a step's true peak). On CUDA:
``torch.cuda.max_memory_allocated`` minus the allocation before the step.
"""

from __future__ import annotations

import statistics
import time

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(model, inputs, loss_fn, has_parameters: bool):
    """A training step of ``model`` on ``inputs`` (puts the model in training mode)."""
    model.train()
    optimiser = (
        torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4) if has_parameters else None
    )

    def step() -> None:
        if optimiser is not None:
            optimiser.zero_grad(set_to_none=True)
        for x in inputs:
            x.grad = None
        loss = loss_fn(model(*inputs))
        loss.backward()
        if optimiser is not None:
            optimiser.step()

    return step


def make_inference_step(model, inputs):
    """An inference step: ``model.eval()``, then the forward of ``inputs`` under ``no_grad``."""
    model.eval()

    def step() -> None:
        with torch.no_grad():
            model(*inputs)

    return step


def time_steps(step, device: torch.device, warmup: int, reps: int) -> dict:
    times = []
    for _ in range(warmup + reps):
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    timed = times[warmup:]
    return {"first_s": times[0], "median_s": statistics.median(timed), "min_s": min(timed), "times_s": timed}


def time_interleaved(steps: dict, device: torch.device, warmup: int, reps: int) -> dict:
    """:func:`time_steps` for several steps in one process, taken in turn: ``warmup`` rounds,
    then ``reps`` rounds, each round every step once, starting one further along each round (no
    step always runs right after the same other). Returns ``{name: time_steps' dict}``."""
    names = list(steps)
    times: dict = {name: [] for name in names}
    for r in range(warmup + reps):
        for i in range(len(names)):
            name = names[(r + i) % len(names)]
            _sync(device)
            t0 = time.perf_counter()
            steps[name]()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    out = {}
    for name, ts in times.items():
        timed = ts[warmup:]
        out[name] = {"first_s": ts[0], "median_s": statistics.median(timed), "min_s": min(timed), "times_s": timed}
    return out


def _cpu_peak_bytes(step) -> int:
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events, stack = [], list(prof.profiler.kineto_results.experimental_event_tree())
    while stack:
        e = stack.pop()
        if e.tag == _EventType.Allocation and e.extra_fields.device.type == "cpu":
            events.append((e.start_time_ns, e.extra_fields.alloc_size))
        stack.extend(e.children)
    live = peak = 0
    for _, size in sorted(events):
        live += size
        peak = max(peak, live)
    return peak


def peak_bytes(step, device: torch.device) -> int:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before
    return _cpu_peak_bytes(step)
