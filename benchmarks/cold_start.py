"""Cold start: a fresh process's first forward+backward of a default ``LIF``, per backend.

    python benchmarks/cold_start.py [--rounds N] [--shape 8,32,16,28,28] [--backends ...]

Each measurement is a new Python process that imports fullspike, builds ``LIF()`` with one
backend, and times its first forward + backward on a ``[T, B, ...]`` input (time to import is
not counted). Backends are run interleaved, ``--rounds`` times each; medians are printed, with
ratios against ``eager``. Each round has fresh, empty cache folders: ``native-cold`` compiles the
native kernels into an empty ``FULLSPIKE_CACHE_DIR`` (the first process on a new machine),
``native-warm`` and ``auto`` (the default, which takes ``native`` on CPU) run right after it
with that folder (every later process); ``inductor-cold`` runs with an empty Inductor cache
directory of its own, ``inductor-warm`` right after it with the same directory. The machine's
load average is printed alongside, since the numbers depend on it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
import torch
import fullspike.nn as snn
shape, backend = json.loads(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
x = torch.randn(*shape).add_(0.5).requires_grad_()
lif = snn.LIF(backend=backend)
t0 = time.perf_counter()
lif(x).sum().backward()
first = time.perf_counter() - t0
t0 = time.perf_counter()
lif(x).sum().backward()
print("RESULT " + json.dumps({"first_s": first, "second_s": time.perf_counter() - t0}))
"""


def run_child(shape: list[int], backend: str, cache_dir: str) -> dict:
    env = dict(
        os.environ,
        FULLSPIKE_CACHE_DIR=os.path.join(cache_dir, "fullspike"),
        TORCHINDUCTOR_CACHE_DIR=os.path.join(cache_dir, "inductor"),
    )
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(shape), backend], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - t0
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), "process_s": wall, "stderr": res.stderr.strip()}
    raise SystemExit(f"error: the {backend} child failed:\n{res.stderr[-2000:]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--shape", default="8,32,16,28,28")
    p.add_argument("--backends", default="eager,loop,native-cold,native-warm,auto,inductor-cold,inductor-warm")
    p.add_argument(
        "--output",
        default=str(Path(__file__).resolve().parent / "results" / "cold_start_cpu.md"),
        help="where the table goes (markdown; BENCHMARKS.md includes it)",
    )
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    shape = [int(s) for s in args.shape.split(",")]
    names = args.backends.split(",")
    rows: dict = {n: [] for n in names}
    messages: dict = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as cache:
            for name in names:
                r = run_child(shape, name.split("-")[0], cache)
                rows[name].append(r)
                if r["stderr"]:
                    messages.setdefault(name, r["stderr"])
    load = os.getloadavg()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import device_name, versions

    command = "python benchmarks/cold_start.py " + " ".join(map(shlex.quote, argv or sys.argv[1:]))
    v = versions()
    lines = [
        f"{device_name('cpu')}; torch {v['torch']}; shape {shape}; {args.rounds} rounds "
        f"interleaved, medians; load average {load[0]:.1f}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}. Produced by:",
        "",
        f"    {command.strip()}    # {datetime.date.today().isoformat()}",
        "",
        f"| backend | first fwd+bwd (s) | vs {names[0]} | second fwd+bwd (s) | whole process (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    base = statistics.median(r["first_s"] for r in rows[names[0]])
    for name in names:
        first = statistics.median(r["first_s"] for r in rows[name])
        second = statistics.median(r["second_s"] for r in rows[name])
        proc = statistics.median(r["process_s"] for r in rows[name])
        lines.append(f"| {name} | {first:.3f} | {first / base:.1f}x | {second:.3f} | {proc:.1f} |")
    print("\n".join(lines))
    for name, text in messages.items():
        print(f"\n{name} printed:\n{text}")
    if not args.no_write:
        Path(args.output).parent.mkdir(exist_ok=True)
        Path(args.output).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
