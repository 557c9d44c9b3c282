"""Training- and inference-step time and peak memory: fullspike vs SpikingJelly vs snnTorch vs
the ANN floor.

    python benchmarks/run.py [--quick] [--device cpu|cuda] [--cases lif,vgg9,resnet18]
                             [--frameworks fullspike,spikingjelly,...] [--rounds N]
                             [--mode train,inference] [--allocator tuned|default]
                             [--process fresh|shared]

``--mode`` (default both): ``train`` times an SGD step (forward, loss, backward, update),
``inference`` the forward alone, ``model.eval()`` under ``torch.no_grad()``, on the same inputs
(``benchmarks/measure.py``). The networks (``vgg9``, ``resnet18``) have both modes; the
one-layer ``lif`` case is training only: it compares the neuron's forward + backward with the
peers' neurons, while the no-grad forward is measured where it matters, inside the networks,
whose inference rows include it. Each (case, framework, mode) runs in a fresh worker process (so
one library's imports, threads and caches do not touch another's), ``--rounds`` times,
interleaved; the reported time is the median over all timed steps. With ``--process shared``,
each round is one worker per (case, mode) that builds every framework's network side by side
and steps them in turn (the method of issue 15's "one process, interleaved" figures: the
frameworks share the process's allocator state and machine moment); those rows are kept apart,
in tables of their own. Results are printed as a
table and, unless ``--quick`` or ``--no-write``, merged into
``benchmarks/results/<device>.json`` and rendered into ``BENCHMARKS.md``. Peers are optional:
``pip install -e .[bench]`` installs them; a framework that is not installed is reported as
such. How the networks are mapped onto each framework: ``benchmarks/frameworks.py``; how time
and memory are measured: ``benchmarks/measure.py``. Run it alone on the machine (heavy runs
share nothing well). ``fullspike`` is the default backend (``auto``: ``native`` on CPU, C
kernels compiled once per machine), ``fullspike-loop`` the former default (plain torch ops),
``fullspike-inductor`` the ``torch.compile`` opt-in. On CPU the workers run with glibc malloc at
its defaults (what a user's own script gets); with ``--allocator tuned`` every worker, whatever
its framework, first calls :func:`fullspike.cpu_allocator.tune_cpu_allocator` (glibc keeps freed
memory instead of unmapping it), and those rows are kept apart, in a second set of tables.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # frameworks.py and measure.py, imported where needed
RESULTS = HERE / "results"
PEERS = {"spikingjelly": "spikingjelly", "spikingjelly-torch": "spikingjelly", "snntorch": "snntorch"}
DEFAULT_FRAMEWORKS = {
    "lif": [
        "fullspike",
        "fullspike-loop",
        "fullspike-inductor",
        "fullspike-eager",
        "spikingjelly",
        "spikingjelly-torch",
        "snntorch",
        "ann",
    ],
    "vgg9": ["fullspike", "fullspike-loop", "fullspike-inductor", "spikingjelly", "snntorch", "ann"],
    "resnet18": ["fullspike", "fullspike-loop", "fullspike-inductor", "spikingjelly", "snntorch", "ann"],
}
MODES = ("train", "inference")
CASE_MODES = {"lif": ("train",), "vgg9": MODES, "resnet18": MODES}


def configs(args) -> list[tuple[str, int, int]]:
    """(case, T, batch) triples to run."""
    out = []
    for case in args.cases:
        if case == "lif":
            out += [("lif", T, 1 << 20) for T in args.lif_T]
        elif case == "vgg9":
            out.append(("vgg9", 25, args.vgg_batch))
        elif case == "resnet18":
            out.append(("resnet18", 4, args.resnet_batch))
        else:
            raise SystemExit(f"error: unknown case '{case}'; choose from lif, vgg9, resnet18")
    return out


# --------------------------------------------------------------------------- worker side


def worker(spec: dict) -> dict:
    """Measure one (case, framework, mode) in this process; returns a JSON-able row.

    ``spec``: case, T, batch, framework, device, warmup, reps, allocator and mode (``train`` or
    ``inference``, see ``benchmarks/measure.py``). With ``frameworks`` (a list) instead of
    ``framework``: all of them built side by side and timed in turn
    (``measure.time_interleaved``); returns ``{"status": "ok", "rows": {framework: row}}``.
    """
    import torch
    from measure import peak_bytes, time_interleaved, time_steps

    device = torch.device(spec["device"])
    if device.type == "cpu" and spec.get("allocator", "default") == "tuned":
        from fullspike.cpu_allocator import tune_cpu_allocator

        if not tune_cpu_allocator():
            return {"status": "skipped", "note": "the allocator can only be tuned under glibc"}
    if spec["mode"] not in MODES:
        raise ValueError(f"unknown mode '{spec['mode']}'; choose from {', '.join(MODES)}")
    if "frameworks" not in spec:
        step = _build_step(spec, spec["framework"], device)
        if isinstance(step, dict):
            return step
        timing = time_steps(step, device, spec["warmup"], spec["reps"])
        return _row(timing, peak_bytes(step, device))
    rows, steps = {}, {}
    for fw in spec["frameworks"]:
        made = _build_step(spec, fw, device)
        (rows if isinstance(made, dict) else steps)[fw] = made
    timings = time_interleaved(steps, device, spec["warmup"], spec["reps"])
    for fw, step in steps.items():
        rows[fw] = _row(timings[fw], peak_bytes(step, device))
    return {"status": "ok", "rows": {fw: rows[fw] for fw in spec["frameworks"]}}


def _build_step(spec: dict, framework: str, device):
    """The step of ``framework``'s network for ``spec``, or a row saying why there is none."""
    import torch
    from frameworks import SkipCase, build_case, for_framework
    from measure import make_inference_step, make_step

    torch.manual_seed(0)  # the same weights and inputs for every framework
    try:
        model, inputs, loss_fn, has_params = build_case(spec["case"], spec["T"], spec["batch"], device)
        model = for_framework(model, framework).to(device)
    except SkipCase as err:
        return {"status": "skipped", "note": str(err)}
    except ImportError as err:
        return {"status": "not installed", "note": str(err)}
    if spec["mode"] == "train":
        return make_step(model, inputs, loss_fn, has_params)
    return make_inference_step(model, inputs)


def _row(timing: dict, peak: int) -> dict:
    import torch

    return {"status": "ok", **timing, "peak_mb": peak / 2**20, "threads": torch.get_num_threads()}


# --------------------------------------------------------------------------- parent side


def run_worker(spec: dict, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "note": f"no result within {timeout:.0f} s"}
    for line in res.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    tail = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"status": "error", "note": tail[:300]}


def merge_rounds(rows: list[dict]) -> dict:
    ok = [r for r in rows if r.get("status") == "ok"]
    if not ok:
        return rows[-1]
    times = [t for r in ok for t in r["times_s"]]
    return {
        "status": "ok",
        "median_s": statistics.median(times),
        "min_s": min(times),
        "first_s": statistics.median(r["first_s"] for r in ok),
        "peak_mb": statistics.median(r["peak_mb"] for r in ok),
        "steps": len(times),
        "rounds": len(ok),
        "threads": ok[0]["threads"],
    }


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def versions() -> dict:
    from importlib import metadata

    out = {}
    for pkg in ("torch", "spikingjelly", "snntorch"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def table(rows: dict, mode: str = "train") -> list[str]:
    """Markdown table lines for one (case, T, batch, mode); ratios are relative to fullspike."""
    base = rows.get("fullspike", {})
    what = "step" if mode == "train" else "forward"
    lines = [
        f"| framework | {what} time (ms, median) | time vs fullspike | peak memory (MiB) "
        f"| memory vs fullspike | first {what} (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for fw, r in rows.items():
        if r.get("status") != "ok":
            lines.append(f"| {fw} | {r.get('status')}: {r.get('note', '')} | | | | |")
            continue
        t_ratio = f"{r['median_s'] / base['median_s']:.2f}x" if base.get("status") == "ok" else "-"
        m_ratio = (
            f"{r['peak_mb'] / base['peak_mb']:.2f}x" if base.get("status") == "ok" and base["peak_mb"] > 0 else "-"
        )
        lines.append(
            f"| {fw} | {r['median_s'] * 1e3:.0f} | {t_ratio} | {r['peak_mb']:.0f} | {m_ratio} | {r['first_s']:.1f} |"
        )
    return lines


def row_key(case: str, T: int, batch: int, fw: str, alloc: str, mode: str, process: str = "fresh") -> str:
    """A row's key in ``benchmarks/results/<device>.json``."""
    return f"{case}|{T}|{batch}|{fw}|{alloc}|{mode}|{process}"


def load_store(path: Path) -> dict:
    """The results file at ``path`` (empty if absent), its keys in the current form."""
    store = json.loads(path.read_text()) if path.exists() else {"rows": {}}
    return normalise(store)


def normalise(store: dict) -> dict:
    """Rows stored before ``--mode`` existed (five-part keys) are training rows, and rows stored
    before ``--process`` existed (five or six parts) ran in fresh processes."""
    rows = {}
    for key, row in store["rows"].items():
        if key.count("|") == 4:
            key += "|train"
        if key.count("|") == 5:
            key += "|fresh"
        rows[key] = {**row, "mode": key.split("|")[5]}
    return {**store, "rows": rows}


def render(device: str, store: dict) -> str:
    store = normalise(store)
    meta = store["meta"]
    runs = sorted({(r.get("date", "?"), r.get("command", "?"), r.get("load", "?")) for r in store["rows"].values()})
    out = [
        f"## {device.upper()}: {meta['device_name']}",
        "",
        f"torch {meta['versions']['torch']}, spikingjelly {meta['versions']['spikingjelly']}, "
        f"snntorch {meta['versions']['snntorch']}; float32; {meta.get('threads', '?')} threads. "
        f"Rows produced by:",
        "",
    ]
    out += [f"    {cmd}    # {date}, load average {load}" for date, cmd, load in runs] + [""]
    groups: dict = {}
    for key, row in store["rows"].items():
        case, T, batch, fw, alloc, mode, process = key.split("|")
        groups.setdefault((case, int(T), int(batch), alloc, mode, process), {})[fw] = row
    order = {"lif": 0, "vgg9": 1, "resnet18": 2}
    for (case, T, batch, alloc, mode, process), rows in sorted(
        groups.items(),
        key=lambda kv: (
            kv[0][3] == "tuned",
            kv[0][5] == "shared",
            order[kv[0][0]],
            kv[0][1],
            kv[0][2],
            MODES.index(kv[0][4]),
        ),
    ):
        out += [f"### {heading(case, T, batch, alloc, mode, process)}", "", *table(rows, mode), ""]
    return "\n".join(out)


def heading(case: str, T: int, batch: int, alloc: str, mode: str = "train", process: str = "fresh") -> str:
    """A table's title: the case, the mode; rows with glibc malloc tuned, or with the frameworks
    in one process, say so."""
    from frameworks import describe

    what = "training step" if mode == "train" else "inference (eval, no grad)"
    return (
        f"{describe(case, T, batch)}: {what}"
        + (" (glibc malloc tuned)" if alloc == "tuned" else "")
        + (" (one process, frameworks in turn)" if process == "shared" else "")
    )


PREAMBLE = """# Benchmarks

Training-step and inference time and peak memory of fullspike against SpikingJelly and snnTorch
on the same networks, with the same network as an ANN (ReLU instead of spiking neurons, i.e. the
same work on T x B samples) as the floor. Each network has a training table (an SGD step:
forward, loss, backward, update) and an inference table (`model.eval()`, the forward alone under
`torch.no_grad()`); the one-layer LIF case is training only. Ratios are relative to fullspike
(above 1: slower / more memory than fullspike). Generated by `benchmarks/run.py`; methods in
`docs/performance.md` (how the peers' networks are built: `benchmarks/frameworks.py`; how time
and memory are measured: `benchmarks/measure.py`). The "first step" / "first forward" column
includes one-off compilation. `fullspike` is the default backend (`auto`, which is `native` on
CPU: C kernels compiled once per machine into a per-user cache, see the cold-start table);
`fullspike-loop` is the former default (plain torch ops, nothing compiled); `fullspike-inductor`
is the `torch.compile` opt-in (`backend="inductor"`). On CPU the headline tables run glibc
malloc at its defaults (what a user's own script gets); tables marked "glibc malloc tuned" ran
every worker, each framework alike, with `fullspike.cpu_allocator.tune_cpu_allocator` (what
`fullspike train` does on CPU); tables marked "one process, frameworks in turn" built every
framework's network in one worker per round and stepped them in turn (`--process shared`). The
machine is shared: each run's load average is in its command
line's comment, and only ratios within one table (one run, interleaved) compare.
"""


def write_markdown(path: Path) -> None:
    parts = [PREAMBLE]
    cold = RESULTS / "cold_start_cpu.md"
    if cold.exists():
        parts.append(
            "## Cold start (CPU)\n\nA fresh process's first forward + backward of a default "
            "`LIF()`, each backend in new processes (`benchmarks/cold_start.py`; "
            "`native-cold`: the native kernels compiled into an empty cache folder (the "
            "first process on a machine), `native-warm` and `auto`: the next processes, "
            "which load them; `inductor-cold`: empty Inductor cache, `inductor-warm`: "
            "the next process with that cache).\n\n" + cold.read_text()
        )
    for device in ("cpu", "cuda"):
        f = RESULTS / f"{device}.json"
        if f.exists():
            parts.append(render(device, json.loads(f.read_text())))
        else:
            parts.append(
                f"## {device.upper()}\n\nNot measured yet: run "
                f"`python benchmarks/run.py --device {device}` on a machine with one.\n"
            )
    path.write_text("\n".join(parts))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument(
        "--quick", action="store_true", help="small batches, T in {4, 16}, 1 warm-up + 3 timed steps; prints only"
    )
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--cases", default="lif,vgg9,resnet18")
    p.add_argument("--frameworks", default=None, help="comma-separated subset (default: all for each case)")
    p.add_argument("--lif-T", default="4,16,64")
    p.add_argument("--vgg-batch", type=int, default=8)
    p.add_argument("--resnet-batch", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=1, help="worker runs per framework, interleaved")
    p.add_argument(
        "--mode",
        default=",".join(MODES),
        help="comma-separated: train (SGD step), inference (eval + no_grad forward); the lif case is train only",
    )
    p.add_argument(
        "--allocator",
        default="default",
        choices=["default", "tuned"],
        help="CPU: leave glibc malloc at its defaults, or tune it in every worker",
    )
    p.add_argument(
        "--process",
        default="fresh",
        choices=["fresh", "shared"],
        help="each framework in processes of its own (fresh), or all frameworks of a "
        "case built in one process and stepped in turn (shared), per round",
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds per worker")
    p.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    p.add_argument("--output", default=str(REPO / "BENCHMARKS.md"))
    args = p.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("error: --device cuda but CUDA is not available here", file=sys.stderr)
            return 2
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    args.mode = [m.strip() for m in args.mode.split(",") if m.strip()]
    unknown = [m for m in args.mode if m not in MODES]
    if unknown or not args.mode:
        print(
            f"error: --mode takes a comma-separated subset of {', '.join(MODES)} (got '{','.join(args.mode)}')",
            file=sys.stderr,
        )
        return 2
    args.lif_T = [int(t) for t in args.lif_T.split(",")]
    if args.quick:
        args.lif_T = [t for t in args.lif_T if t <= 16] or args.lif_T[:1]
        args.vgg_batch, args.resnet_batch = min(args.vgg_batch, 2), min(args.resnet_batch, 2)
        args.warmup, args.reps, args.no_write = 1, 3, True
    wanted = None if args.frameworks is None else args.frameworks.split(",")
    from tqdm import tqdm

    jobs = [
        (cfg, mode, fw)
        for cfg in configs(args)
        for mode in args.mode
        if mode in CASE_MODES[cfg[0]]
        for fw in DEFAULT_FRAMEWORKS[cfg[0]]
        if wanted is None or fw in wanted
    ]
    if not jobs:
        print(
            f"error: nothing to run for --cases {','.join(args.cases)} --mode "
            f"{','.join(args.mode)} (the lif case is train only) and the chosen frameworks",
            file=sys.stderr,
        )
        return 2
    raw: dict = {}
    if args.process == "shared":  # one worker per (case, mode) and round, frameworks in turn
        shared: dict = {}
        for cfg, mode, fw in jobs:
            shared.setdefault((cfg, mode), []).append(fw)
        jobs = [(cfg, mode, fws) for (cfg, mode), fws in shared.items()]
    with tqdm(total=len(jobs) * args.rounds, desc="benchmark", unit="run") as bar:
        for _ in range(args.rounds):
            for (case, T, batch), mode, fw in jobs:
                bar.set_postfix_str(f"{case} T={T} {mode} {fw if isinstance(fw, str) else 'all'}")
                spec = dict(
                    case=case,
                    T=T,
                    batch=batch,
                    device=args.device,
                    warmup=args.warmup,
                    reps=args.reps,
                    allocator=args.allocator,
                    mode=mode,
                    **({"framework": fw} if isinstance(fw, str) else {"frameworks": fw}),
                )
                row = run_worker(spec, args.timeout)
                for name in [fw] if isinstance(fw, str) else fw:
                    raw.setdefault((case, T, batch, mode, name), []).append(row["rows"][name] if "rows" in row else row)
                bar.update()
    results = {key: merge_rounds(rows) for key, rows in raw.items()}

    alloc = args.allocator if args.device == "cpu" else "-"
    process = args.process
    grouped: dict = {}
    for (case, T, batch, mode, fw), row in results.items():
        grouped.setdefault((case, T, batch, mode), {})[fw] = row
    print(f"\n{args.device}: {device_name(args.device)}")
    for (case, T, batch, mode), rows in grouped.items():
        print(f"\n{heading(case, T, batch, alloc, mode, process)}")
        print("\n".join(table(rows, mode)))
    if args.no_write:
        return 0
    RESULTS.mkdir(exist_ok=True)
    store_path = RESULTS / f"{args.device}.json"
    store = load_store(store_path)
    threads = next((r["threads"] for r in results.values() if r.get("status") == "ok"), None)
    store["meta"] = {"device_name": device_name(args.device), "versions": versions(), "threads": threads}
    command = "python benchmarks/run.py " + " ".join(map(shlex.quote, argv or sys.argv[1:]))
    load = f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"
    for (case, T, batch, mode, fw), row in results.items():
        store["rows"][row_key(case, T, batch, fw, alloc, mode, process)] = {
            **row,
            "mode": mode,
            "date": datetime.date.today().isoformat(),
            "command": command.strip(),
            "load": load,
        }
    store_path.write_text(json.dumps(store, indent=1))
    write_markdown(Path(args.output))
    print(f"\nwrote {store_path.relative_to(REPO)} and {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
