"""studies/report.py: REPRODUCTION.md tables come from the results JSON, claims without
results say "not run yet", plots are copied into the store and linked."""

import json

import pytest

from fullspike.errors import ConfigError
from studies.runner import run_experiment


@pytest.fixture(scope="module")
def script(report):
    return report


def test_tables_from_json_and_not_run_yet(script, tmp_path):
    out = tmp_path / "runs"
    run_experiment("fashion_mnist", "smoke", out, log=lambda m: None)
    store, doc = tmp_path / "store", tmp_path / "R.md"
    script.main(["--results", str(out), "--store", str(store), "--scales", "smoke", "--out", str(doc)])
    res = json.loads((store / "fashion_mnist" / "smoke" / "results.json").read_text())
    assert all((store / "fashion_mnist" / "smoke" / p).is_file() for p in res["plots"])
    text = doc.read_text()
    chosen = res["summary"]["selected"]
    acc = res["summary"]["variants"][chosen]["test_accuracy"]["mean"]
    lo, hi = script.wilson(acc, 100)  # the smoke scale's test set: 100 digits, as the run measured
    assert res["runs"][0]["energy"]["test_size"] == 100
    row = f"| 5 | {res['title']} | {100 * acc:.2f}% (n=1), 95% CI {100 * lo:.1f}..{100 * hi:.1f}% | not met |"
    assert row in text  # below the 94.5% target (a few epochs on digits)
    assert (
        f"{100 * acc:.2f}% (95% Wilson interval {100 * lo:.1f}..{100 * hi:.1f}% on 100 test samples) is below" in text
    )
    assert (
        text.index("## The papers' claims")
        < text.index("### 4. ")
        < text.index("## Our benchmarks")
        < text.index("### 5. ")
    )
    rule = text.split("## The papers' claims")[0]
    assert "Welch's two-sided t-test" in rule and "Holm's step-down correction" in rule and "level 5%" in rule
    # the energy count ran on the class-balanced selection of the test set, and says so
    counts = res["runs"][0]["energy"]["analysis_set"]["class_counts"]
    assert sum(counts.values()) == 32 and max(counts.values()) - min(counts.values()) <= 1 and len(counts) == 10
    assert "*Analysis set.* 32 test samples, class-balanced" in text
    assert text.count("(chosen on val)") == 1
    assert f"`{res['command']}`" in text and res["machine"] in text
    for n, name in [(1, "bntt_norms"), (4, "dst_depth"), (6, "nmnist")]:
        assert f"| {n} | " in text and f"`fullspike reproduce {name} --scale cpu --data-root DIR`" in text
    assert text.count("**Result.** not run yet.") == 6
    assert f"({store / 'fashion_mnist' / 'smoke' / 'accuracy.png'})" in text


def test_a_verdict_with_runs_to_go_is_provisional(script, tmp_path):
    out = tmp_path / "runs"
    run_experiment("bntt_norms", "smoke", out, seeds=[0], variants=["bntt", "bn"], log=lambda m: None)
    doc = tmp_path / "R.md"
    script.main(["--results", str(out), "--store", str(tmp_path / "store"), "--scales", "smoke", "--out", str(doc)])
    text = doc.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 1 | "))
    assert row.endswith("| T=10: needs 3 seeds |") and "16 of 18 runs not finished yet" in text


def test_numbers_show_a_spread_only_over_several_seeds(script):
    one, two = {"mean": 0.9234, "std": 0.0, "n": 1}, {"mean": 0.4909, "std": 0.0016, "n": 2}
    assert script.pct(one) == "92.34% (n=1)" and script.pct(two) == "49.09 ± 0.16% (n=2)"
    assert script.count({"mean": 1950.0, "std": 0.0, "n": 1}) == "1.95k"
    assert script.count({"mean": 2.68e7, "std": 1.5e6, "n": 2}) == "26.8M ± 1.5M"
    assert script.count({"mean": 4.44e5, "std": 0.0, "n": 2}) == "444k ± 0"
    assert script.count({"mean": 4.2e9, "std": 0.0, "n": 1}) == "4.2G"
    assert script.count({"mean": 12.0, "std": 0.0, "n": 1}) == "12" and script.count(None) == "–"


def test_convergence_reads_the_last_epoch_of_each_finished_run(script):
    def run(vals, status="done"):
        return {"status": status, "curves": [{"epoch": i + 1, "val_accuracy": v} for i, v in enumerate(vals)]}

    res = {
        "runs": [run([0.30, 0.40, 0.46]), run([0.2, 0.3, 0.32]), run([0.1, 0.5, 0.9], "partial"), run([0.3, 0.5, 0.45])]
    }
    text, flat = script.convergence(res)
    assert "changed by -5.0..+6.0 points (median +2.0, 3 runs); the curves have not flattened" in text
    assert not flat
    res["runs"] = [run([0.40, 0.406]), run([0.5, 0.49])]
    text, flat = script.convergence(res)
    assert "-1.0..+0.6 points (median -0.2, 2 runs); the median change is within 1 point" in text and flat
    assert script.convergence({"runs": [run([0.5])]}) is None


def test_a_verdict_on_curves_still_rising_says_so(script, tmp_path, monkeypatch):
    out, store = tmp_path / "runs", tmp_path / "store"
    run_experiment("fashion_mnist", "smoke", out, log=lambda m: None)
    script.import_results([out], store, ["smoke"])
    path = store / "fashion_mnist" / "smoke" / "results.json"
    res = json.loads(path.read_text())
    for r in res["runs"]:
        r["curves"] = [{"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.6}]
    path.write_text(json.dumps(res))
    monkeypatch.setattr(script, "verdict", lambda res: ("reproduced", "above the target"))
    lines, row = script.section("fashion_mnist", store, ["smoke"], tmp_path)
    text = "\n".join(lines)
    assert "(median +10.0, 2 runs); the curves have not flattened." in text
    assert "**Verdict: reproduced.** above the target; measured before the curves flattened" in text


def test_silent_branches_counts_blocks_whose_branch_output_never_fires(script):
    def run(label, rates):
        return {"status": "done", "label": label, "energy": {"firing_rates": rates}}

    dst = {
        "stem.sn": 0.3,
        "layer1.0.branch.sn1": 0.2,
        "layer1.0.branch.sn2": 0.0,  # silent: passes its input on
        "layer1.1.branch.sn1": 0.0,
        "layer1.1.branch.sn2": 0.05,  # the branch's last neuron fires
        "layer2.0.branch.sn1": 0.2,
        "layer2.0.branch.sn2": 0.1,
        "layer2.0.branch.sn3": 0.004,
    }
    plain = {"layer1.0.branch.sn1": 0.0, "layer1.0.sn": 0.2}  # a Spiking ResNet: its branch ends in BN, not judged
    res = {
        "runs": [
            run("DST-18", dst),
            run("DST-18", {**dst, "layer1.1.branch.sn2": 0.001}),
            run("Spiking-18", plain),
            {"status": "failed", "label": "x", "energy": {"firing_rates": dst}},
        ]
    }
    text = script.silent_branches(res)
    assert text.endswith("mean over seeds: DST-18 2.5 of 3")
    assert script.silent_branches({"runs": [run("Spiking-18", plain)]}) is None


def test_committed_reproduction_md_is_what_the_generator_writes(script):
    """REPRODUCTION.md is never typed: it must equal the render of the committed results store
    (regenerate with `python studies/report.py` after changing either)."""
    committed = (script.REPO / "REPRODUCTION.md").read_text()
    assert committed == script.render(script.REPO / "docs" / "reproduction", ["paper", "cpu"])


def test_imported_results_hold_no_machine_folder(script):
    """The store is committed: the command's folders become OUT and DATA (quoted folders too), run
    folders OUT/<experiment>/<scale>/<run>, absolute data roots DATA/<name>; words that merely
    look like a folder's name stay; any other absolute path is refused, named."""
    res = {
        "experiment": "x",
        "setting": "2-4 runs side by side, the full data set, 2.5 * eps / steps (/255)",
        "command": "fullspike reproduce x --scale cpu --out '/scratch/me/my runs' --data-root /mnt/data "
        "nmnist=/mnt/d2/NMNIST-subset --seeds 0",
        "runs": [
            {"run_dir": "/scratch/me/my runs/x/cpu/a_seed0", "config": {"data": {"root": "/mnt/data/cifar10"}}},
            {"run_dir": "runs/x/cpu/b_seed0", "config": {"data": {"root": "/mnt/d2/NMNIST-subset"}}},
        ],
    }
    clean = script.without_machine_paths(res)
    assert clean["command"] == (
        "fullspike reproduce x --scale cpu --out OUT --data-root DATA nmnist=DATA/NMNIST-subset --seeds 0"
    )
    assert [r["run_dir"] for r in clean["runs"]] == ["OUT/x/cpu/a_seed0", "OUT/x/cpu/b_seed0"]
    assert [r["config"]["data"]["root"] for r in clean["runs"]] == ["DATA/cifar10", "DATA/NMNIST-subset"]
    assert clean["setting"] == res["setting"] and script.machine_paths(clean) == []
    res["runs"][0]["metrics"] = {"note": "written by /opt/tools/x"}
    with pytest.raises(ConfigError, match=r"runs\[0\]\.metrics\.note: 'written by /opt/tools/x'"):
        script.without_machine_paths(res)


def test_the_committed_stores_are_as_the_import_writes_them(script):
    stores = sorted((script.REPO / "docs" / "reproduction").glob("*/*/results.json"))
    assert stores
    for path in stores:
        res = json.loads(path.read_text())
        assert script.without_machine_paths(res) == res, path


def test_import_writes_the_store_without_the_results_folder(script, tmp_path):
    out, store = tmp_path / "runs", tmp_path / "store"
    run_experiment("fashion_mnist", "smoke", out, command=f"fullspike reproduce --out {out}", log=lambda m: None)
    assert str(out) in (out / "fashion_mnist" / "smoke" / "results.json").read_text()
    script.import_results([out], store, ["smoke"])
    stored = (store / "fashion_mnist" / "smoke" / "results.json").read_text()
    assert str(tmp_path) not in stored and '"run_dir": "OUT/fashion_mnist/smoke/' in stored
    assert '"command": "fullspike reproduce --out OUT"' in stored
    # --store-only: the partial store of a study under way (studies/in_progress), no document beside it
    partial, doc = tmp_path / "in_progress", tmp_path / "REPRODUCTION.md"
    script.main(
        ["--results", str(out), "--store", str(partial), "--scales", "smoke", "--out", str(doc), "--store-only"]
    )
    assert (partial / "fashion_mnist" / "smoke" / "results.json").read_text() == stored and not doc.exists()
    # a store folder holding a run folder (an unfinished run carried there) is never replaced
    carried = partial / "fashion_mnist" / "smoke" / "w32_aug_seed0"
    carried.mkdir()
    (carried / "checkpoint.pt").write_bytes(b"weights")
    with pytest.raises(ConfigError, match=r"holds folder\(s\) \['w32_aug_seed0'\], not only stored results"):
        script.import_results([out], partial, ["smoke"])
    assert (carried / "checkpoint.pt").read_bytes() == b"weights"
    assert script.import_results([out], partial, ["smoke"], ["nmnist"]) == []  # only the experiments named
    with pytest.raises(SystemExit, match=r"nothing imported: no results of \['nmnist'\] at scale\(s\) \['smoke'\]"):
        script.main(["--results", str(out), "--store", str(partial), "--scales", "smoke", "--experiments", "nmnist",
                     "--store-only"])  # fmt: skip
    with pytest.raises(ConfigError, match=r"unknown experiment 'fashion_mnst'; did you mean 'fashion_mnist'\?"):
        script.import_results([out], partial, ["smoke"], ["fashion_mnst"])
