"""Library calls leave the process as they found it: no mallopt, no determinism flags, no
matplotlib backend switch (checked in a fresh interpreter, with a non-Agg backend chosen first)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

SCRIPT = textwrap.dedent("""
    import sys, tempfile
    from pathlib import Path

    import matplotlib
    import torch

    import fullspike
    import fullspike.cpu_allocator as cpu_allocator

    calls = []
    cpu_allocator._mallopt = lambda: calls.append("mallopt") or None  # the only way the library reaches mallopt
    backend, deterministic = matplotlib.get_backend(), torch.are_deterministic_algorithms_enabled()
    benchmark = torch.backends.cudnn.benchmark

    from fullspike.analysis.early_exit import analyse_early_exit, gamma_statistics
    from fullspike.analysis.gradients import block_statistics, plot_records, random_batches
    from fullspike.analysis.robustness import Normalization, evaluate_robustness
    from fullspike.viz import plot_accuracy_energy, plot_gamma, plot_robustness
    from fullspike.energy import count_synaptic_ops
    from fullspike.train import build_eval_loader, fit, load_config

    out = Path(tempfile.mkdtemp())
    fit(load_config(None, ["model.T=2", "model.width=4", "model.hidden=8", "data.train_subset=32",
                           "data.test_subset=16", "train.epochs=1", "train.tensorboard=false",
                           "train.device=cpu"]), out / "run")
    model, cfg = fullspike.load(out / "run")
    loader, _ = build_eval_loader(cfg, "test")
    count_synaptic_ops(model, loader, max_batches=1).plot(out / "energy.png")
    plot_gamma(gamma_statistics(model), out / "g.png", 0.1)
    plot_accuracy_energy(analyse_early_exit(model, loader, energy_batches=1), out / "ee.png")
    plot_robustness({"snn": evaluate_robustness(model, loader, Normalization((0.3,), (0.4,)), eps=[0.0],
                                                 sigmas=[0.1], attacks=["gaussian", "fgsm"], max_batches=1)},
                    out / "r.png")
    resnet = fullspike.create_model("dst_resnet18", stem="cifar", width=4, T=2, num_classes=3)
    records = [{"model": "dst", "alpha": 4.0, **r}
               for r in block_statistics(resnet, random_batches(1, 2, 3, 8, 3))]
    plot_records(records, out / "grad.png")
    assert all((out / n).stat().st_size > 0 for n in ("energy.png", "g.png", "ee.png", "r.png", "grad.png"))
    print("backend", backend, matplotlib.get_backend())
    print("deterministic", deterministic, torch.are_deterministic_algorithms_enabled())
    print("benchmark", benchmark, torch.backends.cudnn.benchmark)
    print("mallopt", calls, cpu_allocator._tuned)
    print("pyplot imported", "matplotlib.pyplot" in sys.modules)
""")


def test_fit_load_create_model_plots_and_energy_change_no_process_state(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "svg", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    lines = dict(
        line.split(" ", 1)
        for line in r.stdout.splitlines()
        if line.split(" ", 1)[0] in ("backend", "deterministic", "benchmark", "mallopt", "pyplot")
    )
    assert lines["backend"] == "svg svg"
    assert lines["deterministic"] == "False False"
    assert lines["benchmark"] == "False False"
    assert lines["mallopt"] == "[] False"
    assert lines["pyplot"] == "imported False"
