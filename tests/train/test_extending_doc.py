"""docs/extending.md: its example (custom model, custom loss, a callback) runs as written."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def _example() -> str:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[0]


def test_extending_example_trains_in_under_40_lines(capsys):
    code = _example()
    assert len(code.strip().splitlines()) < 40
    ns: dict = {}
    exec(compile(code, str(DOC), "exec"), ns)
    history = ns["trainer"].history
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]  # the custom loss is what is minimised
    assert all(0.0 <= r["firing_rate"] <= 1.0 for r in history)  # the callback's column
    assert 0.0 <= ns["result"]["val_accuracy"] <= 1.0
    assert capsys.readouterr().out.strip()  # the example prints its result
