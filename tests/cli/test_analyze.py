import csv
import json

from fullspike.cli import main


def test_analyze_gradients_writes_table_json_and_plot(tmp_path, capsys):
    rc = main(
        [
            "analyze",
            "gradients",
            "--model",
            "spiking_resnet18",
            "dst_resnet18",
            "--alpha",
            "1",
            "4",
            "--batches",
            "1",
            "--batch-size",
            "2",
            "--image-size",
            "8",
            "--num-classes",
            "3",
            "--out",
            str(tmp_path),
            "stem=cifar",
            "width=4",
            "T=2",
        ]
    )
    assert rc == 0
    rows = list(csv.DictReader((tmp_path / "gradients.csv").open()))
    assert len(rows) == 2 * 2 * 8
    assert {r["alpha"] for r in rows} == {"1.0", "4.0"}
    summary = json.loads((tmp_path / "gradients.json").read_text())["summary"]
    assert {(s["model"], s["alpha"]) for s in summary} == {
        (m, a) for m in ("spiking_resnet18", "dst_resnet18") for a in (1.0, 4.0)
    }
    assert (tmp_path / "gradients.png").stat().st_size > 1000
    assert "ratio_first_last" in capsys.readouterr().out


def test_analyze_firing_on_a_fresh_model(tmp_path):
    rc = main(
        [
            "analyze",
            "firing",
            "--model",
            "sew_7bnet",
            "--batches",
            "1",
            "--batch-size",
            "1",
            "--image-size",
            "128",
            "--in-channels",
            "2",
            "--out",
            str(tmp_path),
            "T=2",
        ]
    )
    assert rc == 0
    rows = list(csv.DictReader((tmp_path / "firing.csv").open()))
    assert len(rows) == 7 and "param_grad_norm" not in rows[0]
    assert all(0 <= float(r["firing_rate"]) <= 1 for r in rows)


def test_analyze_errors_are_one_line(capsys):
    assert main(["analyze", "gradients", "--batches", "1"]) == 2
    assert "error: give --model" in capsys.readouterr().err
    assert main(["analyze", "gradients", "--model", "dst_resnet18", "--batches", "1", "width"]) == 2
    assert "not of the form key=value" in capsys.readouterr().err
