"""Without the plot extra, ``fullspike reproduce`` writes results.json and says in one line why
there are no plots (it used to stop with matplotlib's ImportError)."""

import json

from fullspike.errors import MissingDependencyError
from studies import runner


def test_results_are_written_and_the_missing_plots_are_one_note(tmp_path, monkeypatch):
    def no_matplotlib(module, extra, purpose=None):
        raise MissingDependencyError(
            f"{purpose} needs {module}, which is not installed: pip install 'fullspike[{extra}]'"
        )

    monkeypatch.setattr(runner, "require", no_matplotlib)
    logs = []
    res = runner.run_experiment("bntt_norms", "smoke", tmp_path, train=False, log=logs.append)
    saved = json.loads((tmp_path / "bntt_norms" / "smoke" / "results.json").read_text())
    assert res["plots"] == saved["plots"] == [] and not list((tmp_path / "bntt_norms" / "smoke").glob("*.png"))
    notes = [m for m in logs if m.startswith("note: plots not drawn")]
    assert len(notes) == 1 and "pip install 'fullspike[plot]'" in notes[0] and "\n" not in notes[0]
