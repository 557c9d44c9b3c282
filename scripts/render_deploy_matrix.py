"""Render the measured compatibility matrix (docs/deploy_compat.json, written by
tests/export/test_compat_matrix.py) into docs/deploy.md between its markers.

    python scripts/render_deploy_matrix.py
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "deploy_compat.json"
DOC = REPO / "docs" / "deploy.md"
BEGIN = "<!-- compat-matrix:begin (scripts/render_deploy_matrix.py renders docs/deploy_compat.json) -->"
END = "<!-- compat-matrix:end -->"
IMPORTERS = ("fullspike", "spikingjelly", "norse", "snntorch")


#: logit differences below this are float rounding, shown as "< 1e-4" (the value depends on the machine)
ROUNDING = 1e-4


def _cell(c: dict) -> str:
    if c["status"] == "ok":
        diff = c["max_logit_diff"]
        return (
            f"ok ({c['predictions']}/{c['samples']}, spikes {100 * c['spikes_equal']:.2f}%, "
            f"max logit diff {'< 1e-4' if diff < ROUNDING else f'{diff:.2g}'})"
        )
    if c["status"] == "refuses":
        return f"refuses: {c['reason']}"
    logged = "; ".join(f'"{m}"' for m in c.get("logged", []))
    return f"**SILENTLY WRONG**: {c['reason']}" + (f" (it only logs {logged})" if logged else "")


def render(results: dict) -> str:
    """The markdown between the markers."""
    v = results["versions"]
    lines = [
        BEGIN,
        "",
        f"Measured by `{results['generated_by']}` with SpikingJelly {v['spikingjelly']}, Norse {v['norse']}, "
        f"snnTorch {v['snntorch']} (nir {v['nir']}, nirtorch {v['nirtorch']}), against the BN-folded "
        "fullspike model (what the graph holds). Each cell: ok (same "
        "prediction on every sample and >= 99.9% identical spikes in every spiking layer the importer "
        "exposes; in brackets: same predictions / samples, identical spikes, largest difference of the "
        "logits), refuses (the importer raises; its message), or silently wrong (it runs, raises "
        "nothing and disagrees; Norse's logged warning about `r` is printed for graphs it runs right "
        "too).",
        "",
        "| network | gates | graph features | " + " | ".join(IMPORTERS) + " |",
        "|---|---|---|" + "---|" * len(IMPORTERS),
    ]
    for name, net in results["nets"].items():
        for row in net["rows"].values():
            feats = ", ".join(row["features"]) or "none"
            cells = " | ".join(_cell(row["cells"][i]).replace("|", "\\|") for i in IMPORTERS)
            lines.append(
                f"| `{name}` ({net['kind']}; {net['samples']} test samples, T={net['T']}) | "
                f"{row['gates']} | {feats} | {cells} |"
            )
    lines += ["", END]
    return "\n".join(lines)


def current_block(doc: Path = DOC) -> str:
    """The doc's text between (and including) the markers."""
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{doc} has no compatibility-matrix markers")
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def main() -> None:
    block = render(json.loads(RESULTS.read_text()))
    DOC.write_text(DOC.read_text().replace(current_block(), block))
    print(f"rendered {RESULTS.name} into {DOC}")


if __name__ == "__main__":
    main()
