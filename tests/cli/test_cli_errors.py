"""Every user mistake gives one clear ``error:`` line (and exit status 2), never a traceback."""

import pytest
import torch

from fullspike.cli import main

FAST = [
    "model.T=2",
    "model.width=8",
    "model.hidden=32",
    "data.train_subset=64",
    "data.test_subset=32",
    "train.epochs=1",
    "train.tensorboard=false",
]


def one_error_line(capsys, argv, *needles):
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: "), err
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


def test_unknown_config_key(capsys, tmp_path):
    one_error_line(
        capsys,
        ["train", "--out", str(tmp_path), "train.epoch=1"],
        "unknown config key 'train.epoch'",
        "did you mean 'epochs'",
    )


def test_out_of_range_value(capsys, tmp_path):
    one_error_line(
        capsys,
        ["train", "--out", str(tmp_path), "train.epochs=0"],
        "config key 'train.epochs' must be an integer >= 1, got 0",
    )
    one_error_line(
        capsys, ["train", "--out", str(tmp_path), "model.T=-2"], "config key 'model.T' must be an integer >= 1, got -2"
    )
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_unknown_model(capsys, tmp_path):
    one_error_line(
        capsys, ["train", "--out", str(tmp_path), "model.name=vgg9_bnt"], "unknown model 'vgg9_bnt'", "vgg9_bntt"
    )


def test_unknown_model_argument(capsys, tmp_path):
    one_error_line(capsys, ["train", "--out", str(tmp_path), "model.depth=3"], "has no argument(s) ['depth']")


def test_a_bad_model_argument_is_reported_before_the_missing_data(capsys, tmp_path):
    one_error_line(
        capsys,
        [
            "train",
            "--out",
            str(tmp_path / "run"),
            "model.name=sew_resnet18",
            "model.stem=cifarr",
            "data.name=cifar10",
            f"data.root={tmp_path / 'nowhere'}",
        ],
        "config key 'model.stem' must be one of 'imagenet' or 'cifar', got 'cifarr'",
    )
    assert not any(tmp_path.iterdir())


def test_missing_dataset_files(capsys, tmp_path):
    one_error_line(
        capsys,
        ["train", "--out", str(tmp_path), "data.name=fashion_mnist", f"data.root={tmp_path / 'nowhere'}"],
        "Fashion-MNIST files",
        "not found",
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--out", str(out), *FAST]) == 0
    return out


def test_evaluate_prints_accuracy(trained, capsys):
    assert main(["evaluate", "--checkpoint", str(trained / "checkpoint.pt")]) == 0
    out = capsys.readouterr().out
    acc = float(next(line for line in out.splitlines() if line.startswith("accuracy:")).split()[1])
    assert 0.0 <= acc <= 1.0


def test_corrupt_checkpoint(capsys, trained, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes((trained / "checkpoint.pt").read_bytes()[:1000])
    one_error_line(capsys, ["evaluate", "--checkpoint", str(bad)], "is corrupt")
    torch.save({"weights": 1}, tmp_path / "plain.pt")
    one_error_line(capsys, ["evaluate", "--checkpoint", str(tmp_path / "plain.pt")], "not a fullspike checkpoint")


def test_checkpoint_from_another_model(capsys, trained):
    one_error_line(
        capsys,
        ["evaluate", "--config", "quickstart", "--checkpoint", str(trained / "checkpoint.pt"), "model.name=vgg9_bntt"],
        "holds a 'bntt_convnet' model but the config builds 'vgg9_bntt'",
    )
    one_error_line(
        capsys,
        ["evaluate", "--checkpoint", str(trained / "checkpoint.pt"), "model.width=16"],
        "does not fit the 'bntt_convnet' the config builds with width=16 where it records width=8",
    )


def test_wrong_input_shape_message_is_one_line():
    from fullspike import create_model
    from fullspike.errors import ShapeError

    with pytest.raises(ShapeError) as e:
        create_model("bntt_convnet")(torch.randn(4, 3, 8, 8))
    assert "\n" not in str(e.value) and "in_channels=3" in str(e.value)


@pytest.mark.parametrize(
    "flag,values", [("--eps", ["nan"]), ("--eps", ["0", "-4"]), ("--sigmas", ["-0.1"]), ("--sigmas", ["inf"])]
)
def test_robustness_refuses_nan_and_negative_sizes(capsys, trained, flag, values):
    one_error_line(capsys, ["robustness", "--checkpoint", str(trained), "--samples", "4", flag, *values], flag, ">= 0")
    assert not (trained / "robustness.json").exists()  # refused before any attack ran


@pytest.mark.parametrize(
    "flag,value,says",
    [
        ("--pgd-steps", "-1", ">= 1"),
        ("--pgd-alpha", "-1", "> 0"),
        ("--pgd-alpha", "nan", "> 0"),
        ("--batch-size", "0", ">= 1"),
        ("--samples", "0", ">= 1"),
    ],
)
def test_robustness_refuses_attack_settings_that_mean_nothing(capsys, trained, flag, value, says):
    one_error_line(capsys, ["robustness", "--checkpoint", str(trained), flag, value], flag, says)
    assert not (trained / "robustness.json").exists()


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["energy", "--samples", "0"], "--samples"),
        (["energy", "--config", "quickstart", "--bn-batches", "0"], "--bn-batches"),
        (["analyze", "firing", "--batches", "0"], "--batches"),
        (["analyze", "firing", "--batch-size", "-4"], "--batch-size"),
        (["analyze", "gradients", "--model", "dst_resnet18", "--batches", "0"], "--batches"),
    ],
)
def test_counts_below_one_are_refused_by_the_flag_that_set_them(capsys, trained, argv, flag):
    argv = [*argv, "--checkpoint", str(trained)] if argv[0] == "energy" and "--config" not in argv else argv
    one_error_line(capsys, argv, flag, ">= 1")


def test_a_config_that_is_not_utf8_is_one_line(capsys, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    one_error_line(capsys, ["train", "--config", str(path), "--out", str(tmp_path / "r")], "not UTF-8", "line 1")
    assert not (tmp_path / "r").exists()


def test_a_yaml_alias_bomb_under_a_valid_key_stops_at_once(tmp_path):
    import subprocess
    import sys

    # 9 levels of 9 aliases: 9**8 (43 million) values once expanded, in 12 short lines
    lines = ["name: bomb", "data:", "  options:", "    x0: &x0 [" + ",".join(['"lol"'] * 9) + "]"]
    lines += [f"    x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 8)]
    lines += ["train:", "  epochs: *x7"]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "fullspike",
            "train",
            "--config",
            str(tmp_path / "bomb.yaml"),
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    err = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(err) == 1 and "expands to more than" in err[0], res.stderr[-2000:]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "argv",
    [
        # each fails after the output folder is checked (created)
        ["energy", "--config", "quickstart", "data.name=fashion_mnist", "data.root=nowhere"],
        ["energy", "--config", "quickstart", "--out", "a/b/c", "data.name=fashion_mnist", "data.root=nowhere"],
        ["energy", "--config", "quickstart", "--out", "kept/new", "data.name=fashion_mnist", "data.root=nowhere"],
        ["energy", "--config", "quickstart", "--out", "new/../kept", "data.name=fashion_mnist", "data.root=nowhere"],
        ["analyze", "gradients", "--model", "dst_resnet18", "--batches", "1", "width"],
        ["analyze", "firing", "--out", "x/y", "--checkpoint", "nowhere"],
        ["train", "--out", "p/q", "data.name=fashion_mnist", "data.root=nowhere"],
    ],
)
def test_a_failed_command_leaves_no_empty_folder(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kept").mkdir()  # a folder that was there before stays, even when the output path names it
    assert main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not any((tmp_path / "kept").iterdir())


@pytest.mark.parametrize(
    "argv,flag,says",
    [
        (["energy", "--checkpoint", "C", "--batch-size", "-5"], "--batch-size", ">= 1, got '-5'"),
        (["energy", "--checkpoint", "C", "--batch-size", "0"], "--batch-size", ">= 1, got '0'"),
        (["energy", "--checkpoint", "C", "--e-ac", "-1"], "--e-ac", "finite number > 0"),
        (["energy", "--checkpoint", "C", "--e-mac", "nan"], "--e-mac", "finite number > 0"),
        (["analyze", "gradients", "--model", "m", "--num-classes", "0"], "--num-classes", ">= 2"),
        (["analyze", "gradients", "--model", "m", "--image-size", "0"], "--image-size", "in [1, 1024]"),
        (["analyze", "firing", "--model", "m", "--image-size", "-3"], "--image-size", "in [1, 1024]"),
        (["analyze", "gradients", "--model", "m", "--image-size", "100000"], "--image-size", "in [1, 1024]"),
        (["analyze", "gradients", "--model", "m", "--in-channels", "0"], "--in-channels", ">= 1"),
        (["analyze", "gradients", "--model", "m", "--alpha", "inf"], "--alpha", "finite number > 0"),
        (["robustness", "--checkpoint", "C", "--std", "0"], "--std", "finite number > 0"),
        (["robustness", "--checkpoint", "C", "--mean", "inf"], "--mean", "finite number"),
        (["evaluate", "--checkpoint", "C", "--early-exit", "--exit-threshold", "-5"], "--exit-threshold", "> 0"),
        (["evaluate", "--checkpoint", "C", "--early-exit", "--margins", "2"], "--margins", "in [0, 1]"),
        (["evaluate", "--checkpoint", "C", "--early-exit", "--energy-batches", "-1"], "--energy-batches", ">= 0"),
        (["evaluate", "--checkpoint", "C", "--seed", "-1"], "--seed", "in [0, 4294967295]"),
        (["evaluate", "--checkpoint", "C", "--seed", "abc"], "--seed", "got 'abc'"),
        (["export", "RUN", "--dt", "0"], "--dt", "> 0"),
        (["train", "--nproc", "0"], "--nproc", ">= 1"),
    ],
)
def test_bad_numbers_are_refused_by_the_flag_before_anything_runs(capsys, argv, flag, says):
    one_error_line(capsys, argv, f"argument {flag}: must be", says)


def test_reproduce_seeds_follow_the_same_rule_as_evaluate_seed(capsys):
    one_error_line(capsys, ["reproduce", "bntt_norms", "--seeds", "-1"], "argument --seeds", "in [0, 4294967295]")


def test_options_are_never_abbreviated(capsys):
    one_error_line(
        capsys, ["energy", "--check", "zoo:x"], "unrecognized arguments: --check", "did you mean --checkpoint"
    )
    one_error_line(capsys, ["train", "--zzz"], "unrecognized arguments: --zzz", "fullspike train --help")


@pytest.mark.parametrize(
    "argv,says",
    [
        (["reproduce", "bntt_norms", "--scale", "smok"], ["argument --scale: unknown value 'smok'", "'smoke'"]),
        (["robustness", "--checkpoint", "C", "--attacks", "foo"], ["unknown value 'foo'", "fgsm, gaussian, pgd"]),
        (["evaluate", "--checkpoint", "C", "--split", "tst"], ["did you mean 'test'"]),
        (["trian"], ["unknown command 'trian'", "did you mean 'train'"]),
        (["analyze", "firng"], ["unknown command 'firng'", "did you mean 'firing'"]),
        (["robustness"], ["required: --checkpoint"]),
    ],
)
def test_every_parse_error_is_one_line_with_the_choices(capsys, argv, says):
    one_error_line(capsys, argv, *says)


def test_robustness_mean_and_std_lengths_are_checked_against_each_other_and_the_channels(capsys, trained):
    argv = ["robustness", "--checkpoint", str(trained), "--samples", "4"]
    one_error_line(capsys, [*argv, "--mean", "0.5", "0.5", "--std", "0.2"], "--mean has 2 value(s) but --std 1")
    one_error_line(capsys, [*argv, "--mean", "0.5", "0.5", "--std", "0.2", "0.2"], "give 2 value(s) each", "1 channel")
    assert not (trained / "robustness.json").exists()


def test_early_exit_on_a_model_without_bntt_names_it_and_prints_nothing_first(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *FAST, "model.norm=none"]) == 0
    capsys.readouterr()
    argv = ["evaluate", "--checkpoint", str(run), "--early-exit", "--early-exit-dir", str(tmp_path / "ee")]
    one_error_line(capsys, argv, f"{run} (model bntt_convnet) has no BNTT layers", "reads the BNTT scales")
    assert capsys.readouterr().out == ""  # no "seed: 0" before the refusal
    assert not (tmp_path / "ee").exists()


def test_the_gradient_study_refuses_a_model_without_a_surrogate_argument(capsys, tmp_path):
    argv = ["analyze", "gradients", "--model", "bntt_convnet", "--out", str(tmp_path / "g")]
    line = one_error_line(capsys, argv, "model 'bntt_convnet' takes no surrogate argument", "dst_resnet18")
    assert "has no argument" not in line and not (tmp_path / "g").exists()


@pytest.mark.parametrize(
    "extra,says",
    [
        (["--model", "spiking_resnet50", "--data", "fashion_mnist"], "--model, --data cannot go with --checkpoint"),
        (["--image-size", "99"], "--image-size cannot go with --checkpoint"),
        (["--num-classes", "3", "--in-channels", "2"], "--in-channels, --num-classes cannot go with --checkpoint"),
    ],
)
def test_analyze_firing_refuses_options_the_checkpoint_fixes(capsys, trained, tmp_path, extra, says):
    argv = ["analyze", "firing", "--checkpoint", str(trained), "--out", str(tmp_path / "f"), *extra]
    one_error_line(capsys, argv, says)
    assert not (tmp_path / "f").exists()


def test_analyze_refuses_random_image_options_with_a_dataset(capsys, tmp_path):
    argv = ["analyze", "gradients", "--model", "dst_resnet18", "--data", "digits", "--image-size", "8"]
    one_error_line(capsys, [*argv, "--out", str(tmp_path / "g")], "--image-size cannot go with --data")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--early-exit", "--out", "x.json"], "--out writes the accuracy of a plain evaluation; --early-exit writes"),
        (["--out="], "--out is empty"),
    ],
)
def test_evaluate_refuses_an_out_it_would_not_write(tmp_path, capsys, extra, message):
    """--out beside --early-exit was checked, then never written (exit 0); an empty --out was ignored."""
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pt"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
