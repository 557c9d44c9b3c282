"""studies/runner.py and `fullspike reproduce`: experiments run at the smoke scale (bundled digits),
results.json contents, skipping finished runs, resuming partial ones, refusing folders of another
config, plans whose runs stay distinct at every scale, and the thin CLI entry."""

import json
from pathlib import Path

import pytest

import fullspike.train
from fullspike.cli import main
from fullspike.errors import ConfigError
from studies.definitions import experiment_names, get_experiment
from studies.runner import parse_data_roots, plan, run_experiment, run_status


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    assert main(["reproduce", "fashion_mnist", "--scale", "smoke", "--out", str(out)]) == 0
    return out


def test_results_json_holds_config_curves_accuracy_and_energy(smoke):
    folder = smoke / "fashion_mnist" / "smoke"
    res = json.loads((folder / "results.json").read_text())
    assert (res["experiment"], res["scale"], res["target"]) == ("fashion_mnist", "smoke", 0.945)
    assert res["command"] == f"fullspike reproduce fashion_mnist --scale smoke --out {smoke}"
    assert res["machine"] and res["date"]
    run, other = res["runs"]
    assert run["trained_on"] == other["trained_on"] == [res["machine"]]  # each run says where it trained
    assert (run["variant"], run["seed"], run["status"]) == ("w32_aug", 0, "done")
    assert (other["variant"], other["status"]) == ("w32_aug_e12", "done")
    assert run["config"]["model"]["width"] == 32 and run["config"]["data"]["name"] == "digits"
    assert run["config"]["train"]["seed"] == 0 and run["config"]["schedule"]["name"] == "cosine"
    # the smoke scale trains a quarter of each variant's epochs: 4 -> 1, 12 -> 3 (the variants stay apart)
    assert [row["epoch"] for row in run["curves"]] == [1] and "val_accuracy" in run["curves"][0]
    assert [row["epoch"] for row in other["curves"]] == [1, 2, 3]
    metrics = json.loads((Path(run["run_dir"]) / "metrics.json").read_text())
    assert run["test_accuracy"] == metrics["test_accuracy"] and 0 <= run["test_accuracy"] <= 1
    assert run["final_val_accuracy"] == run["curves"][-1]["val_accuracy"]
    e = run["energy"]
    assert e["samples"] == 32 and e["T"] == 4 and e["ac"] > 0 and e["mac"] > 0
    assert e["energy_mj"] == pytest.approx((0.9 * e["ac"] + 4.6 * e["mac"]) * 1e-9)
    assert e["firing_rates"] and all(0 <= r <= 1 for r in e["firing_rates"].values())
    s = res["summary"]["variants"]["w32_aug"]
    assert s["test_accuracy"] == {"mean": run["test_accuracy"], "std": 0.0, "n": 1}
    assert res["summary"]["selected"] in ("w32_aug", "w32_aug_e12")
    assert set(res["plots"]) == {"curves.png", "accuracy.png", "energy.png"}
    assert all((folder / p).stat().st_size > 1000 for p in res["plots"])


def test_finished_runs_are_skipped(smoke, monkeypatch):
    calls = []
    monkeypatch.setattr(fullspike.train, "fit", lambda *a, **k: calls.append((a, k)))
    metrics = smoke / "fashion_mnist" / "smoke" / "w32_aug_seed0" / "metrics.json"
    before = metrics.read_text()
    res = run_experiment("fashion_mnist", "smoke", smoke, log=lambda m: None)
    assert calls == [] and metrics.read_text() == before
    assert res["runs"][0]["status"] == "done"


def test_partial_run_is_resumed_and_other_configs_refused(smoke, monkeypatch, tmp_path):
    import shutil

    run_dir = tmp_path / "fashion_mnist" / "smoke" / "w32_aug_seed0"
    shutil.copytree(smoke / "fashion_mnist" / "smoke" / "w32_aug_seed0", run_dir)
    (run_dir / "metrics.json").unlink()  # as if killed after its last checkpoint
    calls = []
    monkeypatch.setattr(fullspike.train, "fit", lambda cfg, out, resume, **_: calls.append((Path(out), resume)))
    r = plan(get_experiment("fashion_mnist"), "smoke", tmp_path, {})[0]
    assert run_status(r) == "partial"
    run_experiment("fashion_mnist", "smoke", tmp_path, log=lambda m: None)
    assert calls == [(run_dir, True), (run_dir.parent / "w32_aug_e12_seed0", False)]
    cfg = json.loads((run_dir / "config.json").read_text())
    del cfg["train"]["firing_rate_penalty"]  # a folder written before this key existed: its default
    cfg["train"]["tensorboard"] = not cfg["train"]["tensorboard"]  # changes only what is logged
    cfg["name"], cfg["description"] = "renamed", "labels change nothing that is computed"
    (run_dir / "config.json").write_text(json.dumps(cfg))
    assert run_status(r) == "partial"
    cfg["train"]["epochs"] = 7
    (run_dir / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=r"holds a run of another config \(train.epochs: 7 there, 1 planned\)"):
        run_experiment("fashion_mnist", "smoke", tmp_path, log=lambda m: None)


def test_selection_on_validation_and_analyses(tmp_path):
    res = run_experiment("nmnist", "smoke", tmp_path, log=lambda m: None)
    val = {v: s["final_val_accuracy"]["mean"] for v, s in res["summary"]["variants"].items()}
    assert len(val) == 3 and res["summary"]["selected"] == max(val, key=val.get)
    ee = run_experiment("early_exit", "smoke", tmp_path, log=lambda m: None)
    assert [(r["variant"], r["config"]["model"]["T"]) for r in ee["runs"]] == [("bntt", 10), ("bntt_t25", 25)]
    for run in ee["runs"]:
        assert Path(run["run_dir"]).parent == tmp_path / "bntt_norms" / "smoke"  # the BNTT nets of experiment 1
        a, T = run["early_exit"], run["config"]["model"]["T"]
        assert a["T"] == T and len(a["accuracy"]) == T and 1 <= a["exit_step"] <= T and len(a["layer_gamma"]) == 8
    assert {"gamma.png", "exit_accuracy.png"} <= set(ee["plots"])
    # the analyses draw the rate encoding from a fixed seed: measured again, they repeat exactly
    first = Path(ee["runs"][1]["run_dir"])
    for cached in ("early_exit.json", "energy.json"):
        (first / cached).unlink()
    again = run_experiment("early_exit", "smoke", tmp_path, train=False, log=lambda m: None)
    for key in ("early_exit", "energy"):
        assert again["runs"][1][key] == ee["runs"][1][key]
    # an analysis stored before the draws were seeded (no draws_seed) is measured again
    stored = json.loads((first / "energy.json").read_text())
    del stored["draws_seed"]
    (first / "energy.json").write_text(json.dumps({**stored, "ac": -1.0}))
    again = run_experiment("early_exit", "smoke", tmp_path, train=False, log=lambda m: None)
    assert again["runs"][1]["energy"] == ee["runs"][1]["energy"] and again["runs"][1]["energy"]["draws_seed"] == 0
    # experiment 1 reads the per-step statistics of those BNTT nets from their parameters
    norms = run_experiment("bntt_norms", "smoke", tmp_path, train=False, log=lambda m: None)
    stats = {r["variant"]: r["time_statistics"] for r in norms["runs"] if r["status"] == "done"}
    assert set(stats) == {"bntt", "bntt_t25"} and len(stats["bntt_t25"]["shift"]) == 25
    assert len(stats["bntt"]["layers"]) == 8 and "time_statistics.png" in norms["plots"]
    assert norms["x_label"] == "time steps T"


def test_plans_and_data_roots(tmp_path):
    with pytest.raises(ConfigError, match="pass --data-root DIR"):
        plan(get_experiment("fashion_mnist"), "cpu", tmp_path, {})
    d = tmp_path / "d"
    for folder in ("fashion-mnist", "cifar10"):
        (d / folder).mkdir(parents=True)
    r, r12 = plan(get_experiment("fashion_mnist"), "cpu", tmp_path, parse_data_roots([str(d)]))
    assert r.cfg.data.root == str(d / "fashion-mnist") and r.cfg.train.epochs == 4 and r.cfg.model["width"] == 32
    assert r12.cfg.train.epochs == 12
    # as for every command, DIR may be the dataset's own folder as well as the folder holding it
    r, _ = plan(get_experiment("fashion_mnist"), "cpu", tmp_path, parse_data_roots([str(d / "fashion-mnist")]))
    assert r.cfg.data.root == str(d / "fashion-mnist")
    roots = parse_data_roots([str(d), "nmnist=/n"])
    assert {r.cfg.data.root for r in plan(get_experiment("nmnist"), "cpu", tmp_path, roots)} == {"/n"}
    with pytest.raises(ConfigError, match="unknown dataset 'mnist'"):
        parse_data_roots(["mnist=/x"])
    every = plan(get_experiment("dst_depth"), "cpu", tmp_path, roots)
    assert len(every) == 33 and {r.cfg.data.root for r in every} == {str(d / "cifar10")}
    # the control: the DST nets at depth 18 and 34, branches' last BN not zero-initialised
    controls = [r for r in every if r.variant.control]
    assert sorted((r.cfg.model_name, r.seed) for r in controls) == [
        ("dst_resnet18", 0),
        ("dst_resnet18", 1),
        ("dst_resnet18", 2),
        ("dst_resnet34", 0),
        ("dst_resnet34", 1),
        ("dst_resnet34", 2),
    ]
    assert all(
        r.cfg.model["zero_init_residual"] is False and "not zero-initialised" in r.cfg.description for r in controls
    )
    runs = [r for r in every if not r.variant.control]
    assert all(r.cfg.model["zero_init_residual"] is True for r in runs)
    families = ("spiking", "sew", "dst")
    assert {r.cfg.model_name for r in runs} == {f"{f}_resnet{d}" for f in families for d in (18, 34, 50)}
    assert all(r.cfg.model["width"] == 16 and r.cfg.model["stem"] == "cifar" for r in runs)
    for r in runs:  # a run's recorded name and description say which network it trains
        assert r.cfg.name == f"{r.cfg.model_name}_cifar10"
        if r.variant.x > 34:
            assert f"ResNet-{r.variant.x} " in r.cfg.description
    norms = plan(get_experiment("bntt_norms"), "cpu", tmp_path, roots, seeds=[0])
    assert [(r.variant.name, r.cfg.model["norm"], r.cfg.model["T"], r.variant.x) for r in norms][::3] == [
        ("bntt", "bntt", 10, 10),
        ("bntt_t25", "bntt", 25, 25),
        ("bntt_t4", "bntt", 4, 4),
    ]
    assert {r.cfg.model["width"] for r in norms} == {16} and len(norms) == 9
    rob = plan(get_experiment("robustness"), "cpu", tmp_path, roots, seeds=[0])
    assert [r.cfg.model_name for r in rob] == ["vgg9_bntt", "vgg9_ann"]
    assert rob[0].run_dir == tmp_path / "bntt_norms" / "cpu" / "bntt_seed0"  # shared with experiment 1
    assert rob[0].cfg.to_dict() == plan(get_experiment("bntt_norms"), "cpu", tmp_path, roots, [0])[0].cfg.to_dict()
    assert experiment_names() == [
        "bntt_norms",
        "early_exit",
        "robustness",
        "dst_depth",
        "fashion_mnist",
        "nmnist",
        "bntt_long",
    ]


def test_cli_errors(capsys, tmp_path):
    assert main(["reproduce", "fashion_mnst", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "fashion_mnist" in err and err.count("\n") == 1
    assert main(["reproduce", "fashion_mnist", "--scale", "cpu", "--out", str(tmp_path)]) == 2
    assert "--data-root" in capsys.readouterr().err


def test_variants_and_seeds_options_train_only_those(tmp_path, monkeypatch):
    trained = []
    monkeypatch.setattr(fullspike.train, "fit", lambda cfg, out, resume, overwrite, **_: trained.append(Path(out).name))
    res = run_experiment("nmnist", "smoke", tmp_path, variants=["translate3_wd5e-4"], log=lambda m: None)
    assert trained == ["translate3_wd5e-4_seed0"] and len(res["runs"]) == 3  # every variant of the scale
    trained.clear()  # a lane training seed 1 lists the scale's seed 0 too, so lanes never drop each other's runs
    res = run_experiment("nmnist", "smoke", tmp_path, seeds=[1], variants=["translate2"], log=lambda m: None)
    assert trained == ["translate2_seed1"]
    assert [(r["variant"], r["seed"]) for r in res["runs"]][::3] == [("translate2", 0), ("translate2", 1)]
    with pytest.raises(ConfigError, match=r"unknown variant 'translate9' of experiment 'nmnist'; did you mean"):
        run_experiment("nmnist", "smoke", tmp_path, variants=["translate9"], log=lambda m: None)


def test_the_recorded_command_trains_the_whole_experiment(tmp_path, monkeypatch):
    """A lane's --variants and --seeds are not the command of results that cover every run."""
    monkeypatch.setattr(fullspike.train, "fit", lambda *a, **k: None)
    argv = ["reproduce", "nmnist", "--scale", "smoke", "--out", str(tmp_path), "--variants", "translate2"]
    results = tmp_path / "nmnist" / "smoke" / "results.json"
    assert main([*argv, "--seeds", "0"]) == 0  # a seed the scale plans anyway
    assert json.loads(results.read_text())["command"] == f"fullspike reproduce nmnist --scale smoke --out {tmp_path}"
    assert main([*argv, "--seeds", "3"]) == 0  # results now cover seeds 0 and 3
    assert json.loads(results.read_text())["command"].endswith(f"--out {tmp_path} --seeds 0 3")


def test_a_diverged_run_is_recorded_and_not_retried(tmp_path, monkeypatch):
    from fullspike.train import DivergenceError

    def diverge(cfg, out, resume, overwrite, callbacks):
        raise DivergenceError(float("nan"), 2, 7, 0.1, None)

    monkeypatch.setattr(fullspike.train, "fit", diverge)
    logs = []
    res = run_experiment("nmnist", "smoke", tmp_path, variants=["translate2"], log=logs.append)
    run = res["runs"][0]
    assert run["status"] == "diverged" and (run["diverged"]["epoch"], run["diverged"]["step"]) == (2, 7)
    assert "loss became nan at epoch 2, step 7" in run["diverged"]["message"]
    assert any("recorded as diverged" in m for m in logs)
    s = res["summary"]["variants"]["translate2"]
    assert s["seeds_diverged"] == [0] and s["seeds_done"] == [] and s["test_accuracy"] is None
    monkeypatch.setattr(fullspike.train, "fit", lambda *a, **k: pytest.fail("a diverged run is not retrained"))
    logs.clear()
    run_experiment("nmnist", "smoke", tmp_path, variants=["translate2"], log=logs.append)
    assert any("diverged, skipped (delete" in m for m in logs)


def test_a_run_killed_before_its_first_checkpoint_starts_again(smoke, tmp_path):
    import shutil

    run_dir = tmp_path / "fashion_mnist" / "smoke" / "w32_aug_seed0"
    shutil.copytree(smoke / "fashion_mnist" / "smoke" / "w32_aug_seed0", run_dir)
    for name in ("checkpoint.pt", "metrics.json", "metrics.jsonl"):  # only config.json and tb/ left
        (run_dir / name).unlink()
    r = plan(get_experiment("fashion_mnist"), "smoke", tmp_path, {})[0]
    assert run_status(r) == "new"
    res = run_experiment("fashion_mnist", "smoke", tmp_path, variants=["w32_aug"], log=lambda m: None)
    assert res["runs"][0]["status"] == "done" and [row["epoch"] for row in res["runs"][0]["curves"]] == [1]


def test_the_machines_that_trained_a_run_are_those_of_the_epochs_it_kept(tmp_path, monkeypatch):
    import studies.runner as runner
    from fullspike.train.callbacks import Checkpoint
    from fullspike.train.checkpoint import load_checkpoint

    r = plan(get_experiment("fashion_mnist"), "smoke", tmp_path, {})[1]  # w32_aug_e12: 3 epochs at this scale
    saved = Checkpoint.on_epoch_end

    def killed_after_the_first_checkpoint(self, trainer, row):
        saved(self, trainer, row)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "machine", lambda: "machine A")
    monkeypatch.setattr(Checkpoint, "on_epoch_end", killed_after_the_first_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        runner.train_run(r.cfg, r.run_dir)
    monkeypatch.setattr(Checkpoint, "on_epoch_end", saved)
    assert json.loads((r.run_dir / "trained_on.json").read_text())["trained_on"] == ["machine A"]
    monkeypatch.setattr(runner, "machine", lambda: "machine B")  # resumed elsewhere: epochs 2 and 3
    assert runner.train_run(r.cfg, r.run_dir) is None
    assert json.loads((r.run_dir / "trained_on.json").read_text())["trained_on"] == ["machine A", "machine B"]
    ckpt = load_checkpoint(r.run_dir / "checkpoint.pt")
    assert ckpt["epoch"] == 3 and {"trained_on": ["machine A", "machine B"]} in ckpt["callbacks"]
    monkeypatch.setattr(runner, "machine", lambda: "machine C")  # trains no epoch: not named
    (r.run_dir / "metrics.json").unlink()
    assert runner.train_run(r.cfg, r.run_dir) is None
    assert json.loads((r.run_dir / "trained_on.json").read_text())["trained_on"] == ["machine A", "machine B"]


def test_a_fresh_start_drops_what_an_earlier_attempt_left_and_a_divergence_names_its_machine(tmp_path, monkeypatch):
    import studies.runner as runner
    from fullspike.train import DivergenceError
    from fullspike.train.callbacks import Checkpoint

    r = plan(get_experiment("fashion_mnist"), "smoke", tmp_path, {})[1]
    r.run_dir.mkdir(parents=True)
    (r.run_dir / "trained_on.json").write_text('{"trained_on": ["machine A"]}')  # A was killed before a checkpoint

    def diverged_in_the_second_epoch(self, trainer, row):
        if trainer.epoch == 2:
            raise DivergenceError(float("nan"), 2, 7, 0.1, None)
        saved(self, trainer, row)

    saved = Checkpoint.on_epoch_end
    monkeypatch.setattr(Checkpoint, "on_epoch_end", diverged_in_the_second_epoch)
    monkeypatch.setattr(runner, "machine", lambda: "machine B")
    assert "epoch 2" in runner.train_run(r.cfg, r.run_dir)
    assert json.loads((r.run_dir / "trained_on.json").read_text())["trained_on"] == ["machine B"]
    (r.run_dir / "trained_on.json").write_text("{}")
    with pytest.raises(ConfigError, match="is not a list of machines"):
        runner._trained_on(r.run_dir)


def test_a_run_that_fails_to_start_leaves_no_folder(tmp_path):
    import studies.runner as runner
    from fullspike.errors import FullspikeError

    r = plan(get_experiment("fashion_mnist"), "cpu", tmp_path, parse_data_roots([str(tmp_path / "nodata")]))[0]
    with pytest.raises(FullspikeError):
        runner.train_run(r.cfg, r.run_dir)
    assert not r.run_dir.exists()  # so a --from-store restore is not blocked by it


def test_runs_restored_from_the_store_stand_for_the_trained_ones(smoke, tmp_path, monkeypatch, report):
    """A study goes on on another machine: ``--from-store`` brings back the stored runs (no weights)."""
    import shutil

    store = tmp_path / "store"
    report.import_results([smoke], store, ["smoke"])
    monkeypatch.setattr(fullspike.train, "fit", lambda *a, **k: pytest.fail("a stored run is not trained again"))
    out = tmp_path / "elsewhere"
    assert main(["reproduce", "fashion_mnist", "--scale", "smoke", "--out", str(out), "--collect-only"]) == 0
    assert {r["status"] for r in json.loads((out / "fashion_mnist/smoke/results.json").read_text())["runs"]} == {"new"}
    monkeypatch.setattr("studies.runner.machine", lambda: "another machine")
    res = run_experiment("fashion_mnist", "smoke", out, log=lambda m: None, store=store)
    trained = json.loads((smoke / "fashion_mnist/smoke/results.json").read_text())
    assert res["machine"] == "another machine" and all(r["trained_on"] == [trained["machine"]] for r in res["runs"])
    assert report.trained_on_line(res) == [
        f"**Trained on.** {trained['machine']} (w32_aug seed 0, w32_aug_e12 seed 0)"
    ]  # the results say where the restored runs trained, not only where they were collected
    for here, there in zip(res["runs"], trained["runs"], strict=True):
        source = {"store": "fashion_mnist/smoke/results.json", "date": trained["date"]}
        assert here.pop("restored") == {"sources": [source]}
        assert Path(here.pop("run_dir")).parent == out / "fashion_mnist" / "smoke"
        there.pop("run_dir")
        assert here == there  # config, curves, metrics, energy: as trained
        assert not (out / "fashion_mnist/smoke" / f"{here['variant']}_seed0" / "checkpoint.pt").exists()
    assert res["summary"] == trained["summary"]
    # an analysis that has to be measured again needs the weights the store does not keep
    restored = out / "fashion_mnist" / "smoke" / "w32_aug_seed0"
    (restored / "energy.json").unlink()
    with pytest.raises(ConfigError, match="restored from the study's store without its weights"):
        run_experiment("fashion_mnist", "smoke", out, train=False, log=lambda m: None)
    # an interrupted restore (the marker is written first) is completed by the next one
    (restored / "metrics.jsonl").unlink()
    again = run_experiment("fashion_mnist", "smoke", out, train=False, log=lambda m: None, store=store)
    assert again["runs"][0]["curves"] == trained["runs"][0]["curves"] and again["runs"][0]["energy"]
    # a restored run that trains again (here: its metrics gone) trains as a new run, without the store's files
    monkeypatch.undo()
    (restored / "metrics.json").unlink()
    retrained = run_experiment("fashion_mnist", "smoke", out, variants=["w32_aug"], log=lambda m: None)
    assert "restored" not in retrained["runs"][0] and (restored / "checkpoint.pt").is_file()
    assert retrained["runs"][0]["trained_on"] == [retrained["machine"]]
    # a run of this machine is never touched; a stored run of another config is refused
    mine = tmp_path / "mine"
    shutil.copytree(smoke / "fashion_mnist", mine / "fashion_mnist")
    (mine / "fashion_mnist/smoke/w32_aug_seed0/metrics.json").unlink()
    run_experiment("fashion_mnist", "smoke", mine, train=False, log=lambda m: None, store=store)
    assert not (mine / "fashion_mnist/smoke/w32_aug_seed0/metrics.json").exists()
    stored = json.loads((store / "fashion_mnist/smoke/results.json").read_text())
    stored["runs"][1]["config"]["train"]["epochs"] = 9
    (store / "fashion_mnist/smoke/results.json").write_text(json.dumps(stored))
    refused = r"stored w32_aug_e12_seed0 was trained with another config than this plan's \(train.epochs: 9"
    with pytest.raises(ConfigError, match=refused):
        run_experiment("fashion_mnist", "smoke", tmp_path / "third", log=lambda m: None, store=store)
    assert not (tmp_path / "third").exists()  # every stored run is checked before anything is written
    # a stored analysis that predates the current one is not restored: that run trains again
    stored["runs"][1]["config"]["train"]["epochs"] = 3
    del stored["runs"][0]["energy"]["analysis_set"]
    (store / "fashion_mnist/smoke/results.json").write_text(json.dumps(stored))
    logs = []
    monkeypatch.setattr(fullspike.train, "fit", lambda *a, **k: None)
    res = run_experiment("fashion_mnist", "smoke", tmp_path / "fourth", log=logs.append, store=store)
    assert [r["status"] for r in res["runs"]] == ["new", "done"]
    assert any("w32_aug_seed0: not restored: its stored energy predate" in m for m in logs)
    (store / "fashion_mnist/smoke/results.json").write_text("{not json")
    with pytest.raises(ConfigError, match="is not a results store of `fullspike reproduce`"):
        run_experiment("fashion_mnist", "smoke", tmp_path / "fifth", log=lambda m: None, store=store)


def test_from_store_takes_the_folder_of_a_partial_store(smoke, tmp_path, monkeypatch, report, capsys):
    """``--from-store DIR``: the finished runs of a study under way, kept in a store of their own
    (studies/in_progress), come back as the committed store's do (``--from-store`` alone); a DIR
    that holds no NAME/SCALE/results.json (missing, empty, one level too deep, another scale's) is
    refused in one line before anything is trained or written."""
    store = tmp_path / "in_progress"
    report.import_results([smoke], store, ["smoke"])
    monkeypatch.setattr(fullspike.train, "fit", lambda *a, **k: pytest.fail("a stored run is not trained again"))
    argv = ["reproduce", "fashion_mnist", "--scale", "smoke", "--out"]
    for i, given in enumerate([[str(store)], []]):
        out = tmp_path / f"out{i}"
        with monkeypatch.context() as m:
            m.setattr("studies.cli.STORE", store)  # --from-store alone: the committed results
            assert main([*argv, str(out), "--from-store", *given]) == 0
        runs = json.loads((out / "fashion_mnist/smoke/results.json").read_text())["runs"]
        assert [(r["status"], "restored" in r) for r in runs] == [("done", True), ("done", True)]
    capsys.readouterr()
    for wrong in [tmp_path / "in_progres", "", store / "fashion_mnist", tmp_path]:
        elsewhere = tmp_path / "elsewhere"
        assert main([*argv, str(elsewhere), f"--from-store={wrong}"]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"error: --from-store {str(wrong)!r}: no fashion_mnist/smoke/results.json there; give the folder that "
            "holds NAME/SCALE/results.json (e.g. studies/in_progress), or --from-store alone for the committed "
            "results\n"
        )
        assert not elsewhere.exists()
    assert (
        main(
            [*argv[:3], "cpu", "--out", str(tmp_path / "cpu"), "--data-root", str(tmp_path), "--from-store", str(store)]
        )
        == 2
    )
    assert "no fashion_mnist/cpu/results.json there" in capsys.readouterr().err  # a store of another scale


def test_a_stored_data_root_placeholder_stands_for_the_planned_root(tmp_path):
    from studies.runner import _stored_config

    run = plan(get_experiment("fashion_mnist"), "cpu", tmp_path, parse_data_roots(["/data/here"]))[0]
    stored = run.cfg.to_dict()
    for placeholder in ("DATA/fashion-mnist", "DATA/fmnist", "DATA"):  # as report.without_machine_paths stores it
        stored["data"]["root"] = placeholder  # (any folder name: the data are named by the other keys)
        assert _stored_config(stored, run.cfg) == _stored_config(run.cfg.to_dict(), run.cfg)
    stored["data"]["root"] = "somewhere/else"
    assert _stored_config(stored, run.cfg)["data"]["root"] == "somewhere/else"  # not a placeholder: differs


def test_every_scale_plans_pairwise_distinct_runs(tmp_path):
    """A scale scales a variant's budget and never collapses two variants into one run."""
    roots = parse_data_roots(["/d"])
    for name in experiment_names():
        exp = get_experiment(name)
        for scale in exp.scales:
            runs = plan(exp, scale, tmp_path, roots)  # check_distinct refuses a plan with two equal configs
            assert runs and len({r.key for r in runs}) == len(runs), (name, scale)
    fashion = {
        r.variant.name: r.cfg.train.epochs for r in plan(get_experiment("fashion_mnist"), "paper", tmp_path, roots)
    }
    assert fashion == {"w32_aug": 10, "w32_aug_e12": 30}  # the variants' 4 and 12 epochs, times 2.5


def test_a_scale_that_collapses_variants_is_refused(tmp_path):
    from dataclasses import replace

    exp = get_experiment("fashion_mnist")
    cpu = exp.scale("cpu")
    flat = replace(exp, scales={"cpu": replace(cpu, overrides=(*cpu.overrides, "train.epochs=30"))})
    with pytest.raises(ConfigError, match="w32_aug_e12_seed0 and w32_aug_seed0 would train the same config"):
        plan(flat, "cpu", tmp_path, parse_data_roots(["/d"]))


def test_the_imagenet_scale_trains_the_imagenet_configs(tmp_path):
    (tmp_path / "d" / "imagenet").mkdir(parents=True)
    runs = plan(get_experiment("dst_depth"), "imagenet", tmp_path, parse_data_roots([str(tmp_path / "d")]))
    assert sorted(r.cfg.name for r in runs) == sorted(
        f"{f}_resnet{d}_imagenet" for f in ("sew", "dst") for d in (18, 34, 50)
    )
    assert {r.cfg.data.name for r in runs} == {"imagenet"} and {r.cfg.data.root for r in runs} == {
        str(tmp_path / "d" / "imagenet")
    }
    assert all(r.cfg.model["stem"] == "imagenet" for r in runs)


def test_configs_are_found_by_name_in_the_given_folders_in_order(tmp_path, monkeypatch):
    from studies import runner

    assert runner.config_path("nmnist_bntt_convnet").name == "nmnist_bntt_convnet.yaml"
    (tmp_path / "nmnist_bntt_convnet.yaml").write_text("name: mine\n")
    shipped = runner.config_dirs()
    monkeypatch.setattr(runner, "config_dirs", lambda: [tmp_path, *shipped])
    assert runner.config_path("nmnist_bntt_convnet") == tmp_path / "nmnist_bntt_convnet.yaml"
    with pytest.raises(ConfigError, match="config nope.yaml not found"):
        runner.config_path("nope")


def test_reproduce_outside_a_checkout_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    from fullspike.cli import reproduce

    assert reproduce.find_studies() == Path(__file__).resolve().parents[1]  # beside this package
    monkeypatch.setattr(reproduce, "find_studies", lambda package=None: None)
    assert main(["reproduce", "nmnist"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: fullspike reproduce needs the studies/ folder of a source checkout")
    assert err.count("\n") == 1


def test_a_studies_folder_elsewhere_is_never_run(tmp_path, monkeypatch):
    """A ``studies/`` in the working directory or above it (an unpacked download, a shared /tmp)
    is not the checkout's: no command imports it, not even ``--version``."""
    from fullspike.cli import reproduce

    planted = tmp_path / "studies"
    planted.mkdir()
    marker = tmp_path / "ran"
    for name in ("__init__.py", "runner.py", "cli.py"):
        (planted / name).write_text(f"open({str(marker)!r}, 'w').write('{name}')\n")
    (tmp_path / "pyproject.toml").write_text("")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert main(["--version"]) == 0
    assert main(["models"]) == 0 and not marker.exists()
    assert reproduce.find_studies() != planted
    # an install into site-packages has no checkout, whatever folders surround it
    site = tmp_path / "lib" / "python3" / "site-packages" / "fullspike"
    site.mkdir(parents=True)
    assert reproduce.find_studies(site) is None
    # a checkout's layout: CHECKOUT/src/fullspike beside CHECKOUT/pyproject.toml and studies/runner.py
    (tmp_path / "src" / "fullspike").mkdir(parents=True)
    assert reproduce.find_studies(tmp_path / "src" / "fullspike") == planted
    assert not marker.exists()  # found, not run: nothing above is imported until reproduce runs


def test_help_documents_every_scale(capsys):
    assert main(["reproduce", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "bundled 8x8 digits whatever the experiment's data set" in text
    assert "for the DST depth study the CIFAR-10 proxy, not ImageNet" in text and "imagenet: the DST depth" in text


def test_the_robustness_setting_states_the_attack_the_runner_uses():
    from studies.definitions import get_experiment
    from studies.runner import ATTACK

    note = get_experiment("robustness").scale("cpu").note
    assert f"PGD: {ATTACK['pgd_steps']} steps of 2.5 eps / {ATTACK['pgd_steps']}" in note
    assert f"over {ATTACK['draws']} draws of the rate encoding" in note


def test_an_unknown_experiment_is_one_line_with_the_closest_suggested():
    with pytest.raises(ConfigError, match=r"unknown experiment 'nmnst'; did you mean 'nmnist'\? choose one of"):
        get_experiment("nmnst")


def test_an_unwritable_out_is_refused_before_any_training_is_announced(tmp_path, capsys, monkeypatch):
    trained = []
    monkeypatch.setattr(fullspike.train, "fit", lambda *a, **k: trained.append(a))
    (tmp_path / "file").write_text("")
    assert main(["reproduce", "nmnist", "--scale", "smoke", "--out", str(tmp_path / "file" / "rp")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: cannot write the study's runs") and not trained
