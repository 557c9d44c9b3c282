"""``fullspike models`` / ``fullspike datasets``: one plain-text line per registered name."""

import pytest

from fullspike.cli import main
from fullspike.data import list_datasets
from fullspike.models import list_models


@pytest.mark.parametrize("command,names", [("models", list_models), ("datasets", list_datasets)])
def test_catalog_lists_every_name_in_plain_text(capsys, command, names):
    assert main([command]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == names()
    for line in lines:
        summary = line.split(None, 1)[1]
        assert "``" not in summary and ":func:" not in summary and ":class:" not in summary, line
        assert not summary.endswith((" e.g", "(", ",")), line  # a sentence, not a cut-off


def test_catalog_pattern_filters_models(capsys):
    assert main(["models", "*resnet50"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["dst_resnet50", "sew_resnet50", "spiking_resnet50"]


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["models", "model.name=vgg9_bntt"], "looks like a key=value override; `fullspike models` takes a glob"),
        (["configs", "data.root=x"], "looks like a key=value override; `fullspike configs` takes a glob"),
        (["models", "*nothing*"], "no model matches '*nothing*'"),
        (["configs", "nothing*"], "no config matches 'nothing*'"),
        (["models", "--pretrained", "nothing*"], "no pretrained model matches 'nothing*'"),
        # a pattern without wildcards is a name: the closest suggested
        (["models", "vgg9_bnt"], "unknown model 'vgg9_bnt'; did you mean 'vgg9_bntt'"),
        (["configs", "quickstar"], "unknown config 'quickstar'; did you mean 'quickstart'"),
        (["models", "--pretrained", "nmnist_bnt"], "did you mean 'nmnist_bntt_convnet'"),
    ],
)
def test_a_pattern_that_is_an_override_or_matches_nothing_is_one_error_line(capsys, argv, expected):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and expected in captured.err and len(captured.err.strip().splitlines()) == 1


def test_the_zoo_table_keeps_its_columns_aligned(capsys):
    assert main(["models", "--pretrained"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 1 and lines[0].startswith("name")
    # every row's load-with column starts where the header's does, whatever the names' lengths
    column = lines[0].index("load with")
    assert all(line.index("fullspike.create_model(") == column for line in lines[1:])


def test_configs_takes_a_name_with_its_yaml_suffix_as_config_file_does(capsys):
    assert main(["configs", "quickstart.yaml"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["quickstart"]
