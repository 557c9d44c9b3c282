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
