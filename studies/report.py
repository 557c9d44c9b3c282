"""Generate REPRODUCTION.md from the results of ``fullspike reproduce`` (never typed numbers).

1. ``--results DIR`` (the ``--out`` of ``fullspike reproduce``, repeatable): each
   ``DIR/<experiment>/<scale>/results.json`` of a listed scale is copied with its plots into the
   store (``docs/reproduction/<experiment>/<scale>/``), replacing the stored one.
2. REPRODUCTION.md is written from the store alone: per claim the paper's statement, our setting
   and why it is smaller, the result (mean ± std over seeds) and its plots, the command, date and
   machine, and a verdict computed from the numbers by the rule of :data:`RULE` (Welch's t-test,
   :mod:`studies.stats`). Claims without results say "not run yet". The papers' claims and the
   project's own benchmarks (95% Wilson intervals) are separate sections.

    python -m studies.report --results runs/reproduce      (or: python studies/report.py ...)
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import shutil
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file (python studies/report.py): the checkout is the import root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fullspike.errors import ConfigError  # noqa: E402
from studies.definitions import STORE, experiment_names, get_experiment  # noqa: E402
from studies.stats import ALPHA, MIN_SEEDS, holm_adjusted, welch, wilson  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

#: how far (absolute) the last step's mean BNTT scale must move from its start (1) before the early-exit
#: claim is tested
GAMMA_MOVED = 0.1

#: the statistical rule, as the document's introduction states it
RULE = (
    f"**Statistical rule.** A verdict that rests on a gap between two variants (or two depths) needs at "
    f"least {MIN_SEEDS} finished seeds on each side and Welch's two-sided t-test over the seeds, its p "
    f"adjusted by Holm's step-down correction over every test printed in the experiment's verdict (the "
    f"comparisons and controls reported beside the claim's included, so the correction is conservative) at "
    f"family-wise level {100 * ALPHA:g}%: an adjusted p < {ALPHA:g} is a gap *shown*, otherwise *not shown* "
    f"(a trend inside the error bars is never counted, not even in part); with fewer seeds the verdict is "
    f"*needs {MIN_SEEDS} seeds*. *Reproduced* / *not reproduced*: a gap shown for / against the claim; a "
    f"verdict that rests on several gaps is *reproduced* only when each is, and otherwise takes the first of "
    f"*needs {MIN_SEEDS} seeds*, *not reproduced*, *not shown* that one of them has. Early exit rests on no "
    f"gap: *reproduced* when the gamma rule exits before T in every run within 1 point of the accuracy at T, "
    f"*not shown* when the mean BNTT scale of the last step moved at most {GAMMA_MOVED:g} from its start at 1 "
    "(too short a training to test the claim), *not reproduced* otherwise. Numbers are mean ± standard "
    "deviation over seeds. The project's own benchmarks (one test set, one number) give 95% Wilson score "
    "intervals of the test accuracy; a target inside the interval is *not shown*. Every analysis runs on one "
    "class-balanced selection of the test split, recorded in its results (`analysis_set`; a split no larger "
    "than the selection asked for is used whole, its classes as they fall); analyses whose stored results "
    "predate it ran on the first test images, which are a single class, and are marked *pending re-run*. "
    "Accuracies measured on such a selection (a few hundred samples) carry a sampling error of several "
    "points, stated with each table."
)


#: what a verdict says of an analysis measured on the class-ordered first test images
ONE_CLASS = "pending re-run: the analysis set was one class"


#: an absolute path of two or more parts (``/home/me``, ``/scratch/runs``), not a URL or a ratio
MACHINE_PATH = re.compile(r"(?<![\w.~/:])/[\w.-]+/[\w.-]")


def machine_paths(value, where: str = "") -> list[str]:
    """Where the JSON data ``value`` holds an absolute path, as ``"runs[0].run_dir: '/x/y'"``."""
    if isinstance(value, str):
        return [f"{where}: {value!r}"] if MACHINE_PATH.search(value) else []
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in machine_paths(v, f"{where}.{k}" if where else k)]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in machine_paths(v, f"{where}[{i}]")]
    return []


def store_command(command: str) -> str:
    """A recorded ``fullspike reproduce`` command with its folders as placeholders: ``--out OUT``,
    ``--data-root DATA`` (``DATASET=DIR`` as ``DATASET=DATA/<DIR's name>``)."""
    words, option = shlex.split(command), ""
    for i, word in enumerate(words):
        if word.startswith("--"):
            option = word
        elif option == "--out":
            words[i] = "OUT"
        elif option == "--data-root":
            key, sep, folder = word.rpartition("=")
            words[i] = f"{key}=DATA/{Path(folder).name}" if sep else "DATA"
    return shlex.join(words)


def without_machine_paths(res: dict) -> dict:
    """``res`` as the store keeps it: the command's folders as placeholders (:func:`store_command`),
    each run folder as ``OUT/<experiment>/<scale>/<run>`` (the runner's layout) and each absolute
    data root as ``DATA/<its name>``. The store is committed and published: it says how a run was
    made, not where; any other absolute path left is a :class:`ConfigError` naming it."""
    res = json.loads(json.dumps(res))  # a copy
    res["command"] = store_command(res.get("command", ""))
    for run in res.get("runs", []):
        run["run_dir"] = "/".join(["OUT", *Path(run["run_dir"]).parts[-3:]])
        data = run.get("config", {}).get("data", {})
        if data.get("root") and Path(data["root"]).is_absolute():
            data["root"] = f"DATA/{Path(data['root']).name}"
    left = machine_paths(res)
    if left:
        raise ConfigError(
            f"results of {res.get('experiment')} hold a path of this machine ({left[0]}"
            f"{f' and {len(left) - 1} more' if len(left) > 1 else ''}); the store is published without them"
        )
    return res


def import_results(
    results_dirs: list[Path], store: Path, scales: list[str], experiments: list[str] | None = None
) -> list[Path]:
    """Copy each ``DIR/<experiment>/<scale>/results.json`` of a listed scale (and of a listed
    experiment, if ``experiments`` is given), with its plots, into ``store/<experiment>/<scale>/``
    (replacing what is there), its machine folders replaced by placeholders
    (:func:`without_machine_paths`); returns the folders written. A store folder that holds a
    folder (a run carried in ``studies/in_progress``, say) is never replaced: refused, before the
    store changes."""
    known = experiment_names()
    for name in experiments or []:
        get_experiment(name)  # an unknown one is one line with the closest suggested
    wanted = set(experiments or known)
    found = []
    for d in results_dirs:
        for path in sorted(Path(d).glob("*/*/results.json")):
            exp, scale = path.parent.parent.name, path.parent.name
            if scale in scales and exp in wanted:
                found.append((path, exp, scale))
    for _, exp, scale in found:
        held = sorted(p.name for p in (store / exp / scale).glob("*") if p.is_dir())
        if held:
            raise ConfigError(
                f"{store / exp / scale} holds folder(s) {held}, not only stored results: not replaced; "
                "import into another store or name the experiments to import (--experiments)"
            )
    stored = [without_machine_paths(json.loads(path.read_text())) for path, _, _ in found]  # before any change
    copied = []
    for (path, exp, scale), res in zip(found, stored, strict=True):
        dest = store / exp / scale
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        (dest / "results.json").write_text(json.dumps(res, indent=2, default=str))
        for plot in res.get("plots", []):
            shutil.copy2(path.parent / plot, dest / plot)
        copied.append(dest)
    return copied


def pct(ms: dict | None) -> str:
    """A fraction as percent, mean ± std over seeds (the std only where there are several)."""
    if not ms:
        return "–"
    spread = f" ± {100 * ms['std']:.2f}" if ms["n"] > 1 else ""
    return f"{100 * ms['mean']:.2f}{spread}% (n={ms['n']})"


def num(ms: dict | None, scale: float = 1.0, unit: str = "", digits: int = 3) -> str:
    """A number (times scale) to `digits` significant digits, ± std where there are several seeds."""
    if not ms:
        return "–"
    std = ms["std"] * scale
    spread = "" if ms["n"] <= 1 else f" ± {std:.2g}{unit if std else ''}"
    return f"{ms['mean'] * scale:.{digits}g}{unit}{spread}"


def count(ms: dict | None) -> str:
    """An operation count per sample with an SI prefix (k, M, G) chosen from its mean."""
    if not ms:
        return "–"
    scale, unit = next(((1 / f, u) for f, u in ((1e9, "G"), (1e6, "M"), (1e3, "k")) if ms["mean"] >= f), (1, ""))
    return num(ms, scale, unit)


def _done(res: dict) -> list[dict]:
    return [r for r in res["runs"] if r["status"] == "done"]


# ------------------------------------------------------------------------------ verdicts
class Judge:
    """The Welch tests of one experiment's verdict, judged together by :data:`RULE`: each gap's
    two-sided p, adjusted by Holm's step-down correction over every test the verdict makes, in the
    order it makes them (its family, ``family``: their raw p-values), shown below :data:`ALPHA`.
    :func:`verdict` runs twice: the first pass (no family) collects the raw p-values in :attr:`p`,
    the second judges with them. A test without a finite p (a summary without a spread) is not
    judged and stays out of the family."""

    def __init__(self, family: list[float] | None = None):
        self.family = family
        self.adjusted = holm_adjusted(family) if family else []
        self.p: list[float] = []

    def gap(self, a: dict, b: dict) -> tuple[float, str, str]:
        """a - b for two mean/std/n accuracies: the gap, its state (``shown``, ``not shown``,
        ``needs 3 seeds`` or ``not judged``) and how to say so (with the test's p and, in a family
        of several tests, its Holm-adjusted p)."""
        gap, n = a["mean"] - b["mean"], min(a["n"], b["n"])
        if n < MIN_SEEDS:
            return gap, f"needs {MIN_SEEDS} seeds", f"needs {MIN_SEEDS} seeds, n={n}"
        p = welch(a["mean"], a["std"], a["n"], b["mean"], b["std"], b["n"]).p
        if not math.isfinite(p):
            return gap, "not judged", "not judged: no finite Welch p"
        index = len(self.p)
        self.p.append(p)
        adjusted = self.adjusted[index] if self.family else p
        state = "shown" if adjusted < ALPHA else "not shown"
        holm = f", Holm p={adjusted:.2g}" if self.family and len(self.family) > 1 else ""
        return gap, state, f"{state}, Welch p={p:.2g}{holm}"


def one_class(res: dict, key: str) -> bool:
    """Whether the finished runs' ``key`` analysis (or energy count) was measured before the
    class-balanced selection (no ``analysis_set`` recorded)."""
    return any(r.get(key) is not None and "analysis_set" not in r[key] for r in _done(res))


def _combine(words: list[str]) -> str:
    """One verdict word from several judged parts: theirs when they agree; else the first that
    holds the claim back (needs seeds, not reproduced, not shown)."""
    if len(set(words)) == 1:
        return words[0]
    for w in (f"needs {MIN_SEEDS} seeds", "not reproduced", "not shown"):
        if w in words:
            return w
    return words[0]


def _norms_verdict(res: dict, variants: dict, where: str, unfinished: str, judge: Judge) -> tuple[str, str]:
    """BNTT against the best other norm at each T, judged by :data:`RULE` (a BNTT lead shown:
    reproduced at that T; the other norm ahead, shown: not reproduced; else not shown or needs
    seeds); the word names each T. Adds how far the trained BNTT nets' per-step statistics lie
    from the pooled ones (what one shared BN uses)."""
    texts, words = [], []
    every = res["summary"]["variants"].values()
    for T in sorted({v["x"] for v in variants.values()}):
        at = {k: v for k, v in variants.items() if v["x"] == T}
        b = next((v for v in at.values() if v["series"] == "BNTT"), None)
        others = [v for v in at.values() if v["series"] != "BNTT"]
        diverged = [v["series"] for v in every if v["x"] == T and v["series"] != "BNTT" and v.get("seeds_diverged")]
        gone = "".join(f"; {d} diverged" for d in diverged)
        if b and not others and diverged:  # every other norm failed to train: the claim itself
            texts.append(f"T={T:g}: BNTT {100 * b['test_accuracy']['mean']:.2f}%{gone}")
            words.append(f"T={T:g}: reproduced")
            continue
        if not b or not others:
            continue
        acc = b["test_accuracy"]
        best = max(others, key=lambda o: o["test_accuracy"]["mean"])
        gap, state, how = judge.gap(acc, best["test_accuracy"])
        rest = "".join(
            f"; {o['series']}: BNTT {100 * g:+.2f} points, {h}"
            for o in others
            if o is not best
            for g, _, h in [judge.gap(acc, o["test_accuracy"])]
        )
        texts.append(
            f"T={T:g}: "
            + (
                f"BNTT leads {best['series']} by {100 * gap:.2f} points, {how}"
                if gap > 0
                else f"{best['series']} is {100 * -gap:.2f} points above BNTT, {how}"
            )
            + rest
            + gone
        )
        judged = ("reproduced" if gap > 0 else "not reproduced") if state == "shown" else state
        words.append(f"T={T:g}: {judged}")
    if not words:
        return "not finished yet", "BNTT and at least one other norm at the same T are needed" + unfinished
    word = "; ".join(words)
    stats = [
        (r["config"]["model"]["T"], r["time_statistics"])
        for r in _done(res)
        if (r.get("time_statistics") or {}).get("layers")
    ]
    why = "; ".join(texts) + f" {where}"
    for T in sorted({t for t, _ in stats if t > 1}):
        at = [st for t, st in stats if t == T]
        late = statistics.fmean(x for st in at for x in st["shift"][1:])
        first = statistics.fmean(st["shift"][0] for st in at)
        why += (
            f". Trained BNTT nets, T={T}: the per-step means lie {first:.2f} "
            f"pooled standard deviations from the pooled mean at step 1 and {late:.2f} on average at "
            f"steps 2..{T} (spread ratio {min(x for st in at for x in st['scale']):.2f}.."
            f"{max(x for st in at for x in st['scale']):.2f})"
        )
    return word, why + unfinished


def _depth_series(variants: dict, judge: Judge) -> tuple[dict[str, dict[int, dict]], dict[str, float], list[str]]:
    """Test accuracy per series and depth (a dual-stream net's FSNN as the series "X as FSNN"),
    and for each series at two depths or more its gap deepest minus shallowest, and that gap as
    "series gap (how)"."""
    series: dict[str, dict[int, dict]] = {}
    for v in variants.values():
        series.setdefault(v["series"], {})[v["x"]] = v["test_accuracy"]
        if v.get("fsnn_test_accuracy"):
            series.setdefault(f"{v['series']} as FSNN", {})[v["x"]] = v["fsnn_test_accuracy"]
    trend, parts = {}, []
    for name, at in series.items():
        if len(at) > 1:
            gap, state, how = judge.gap(at[max(at)], at[min(at)])
            trend[name] = (gap, state)
            parts.append(f"{name} {100 * gap:+.2f} ({how})")
    return series, trend, parts


def _depth_controls(variants: dict, claim: dict, dst: str, judge: Judge) -> str:
    """The control variants against the claim's DST net at the same depth (as DSNN and as FSNN),
    then their own trend with depth; "" without controls."""
    controls = {k: v for k, v in variants.items() if v.get("control")}
    texts = []
    for c in sorted(controls.values(), key=lambda v: v["x"]):
        base = next((b for b in claim.values() if b["series"] == dst and b["x"] == c["x"]), None)
        if base is None:
            continue
        gap, _, how = judge.gap(c["test_accuracy"], base["test_accuracy"])
        item = f"{c['label']} minus {base['label']}: {100 * gap:+.2f} ({how})"
        if c.get("fsnn_test_accuracy") and base.get("fsnn_test_accuracy"):
            gap, _, how = judge.gap(c["fsnn_test_accuracy"], base["fsnn_test_accuracy"])
            item += f", as FSNN {100 * gap:+.2f} ({how})"
        texts.append(item)
    trend = _depth_series(controls, judge)[2]
    if trend:
        texts.append(", ".join(trend))
    return "".join(f"; {t}" for t in texts)


def _depth_verdict(variants: dict, where: str, unfinished: str, judge: Judge) -> tuple[str, str]:
    """The DST claim across depth: DST nets gain accuracy with depth, as DSNN and as FSNN (its
    accumulation pathway removed), where plain Spiking ResNets lose; the FSNN runs at a fraction of
    SEW's energy. Each series is tested deepest minus shallowest depth by :data:`RULE`; the word
    rests on the DST series (as DSNN and as FSNN). Control variants are reported after the
    verdict's numbers: they do not decide the word, but their tests count in Holm's family."""
    claim = {k: v for k, v in variants.items() if not v.get("control")}
    series, trend, parts = _depth_series(claim, judge)
    dst = next((s for s in series if s.startswith("DST") and not s.endswith("FSNN")), None)
    if dst is None or len(series[dst]) < 2:
        depths = sorted({v["x"] for v in claim.values()})
        return (
            "not finished yet",
            f"the trend needs DST nets at two depths at least; finished so "
            f"far at depth {', '.join(map(str, depths))}" + unfinished,
        )
    text = f"deepest minus shallowest depth: {', '.join(parts)}"
    energy = {
        "fsnn": {v["x"]: v["fsnn_energy_mj"]["mean"] for v in claim.values() if v.get("fsnn_energy_mj")},
        "sew": {
            v["x"]: v["energy_mj"]["mean"]
            for v in claim.values()
            if v["series"].startswith("SEW") and v.get("energy_mj")
        },
    }
    both = sorted(set(energy["fsnn"]) & set(energy["sew"]))
    share = [energy["fsnn"][d] / energy["sew"][d] for d in both]
    if share:
        text += (
            f"; the FSNN's energy per sample is {100 * min(share):.0f}..{100 * max(share):.0f}% of "
            f"SEW's at depth {', '.join(map(str, both))}"
        )
    text += _depth_controls(variants, claim, dst, judge)
    text += f" {where}{unfinished}"
    gap, state = trend[dst]
    fsnn = trend.get(f"{dst} as FSNN")
    if state != "shown":
        return state, text
    if gap < 0:
        return "not reproduced", text
    if fsnn is not None and fsnn[1] != "shown":
        return f"DSNN reproduced; FSNN {fsnn[1]}", text
    if (fsnn is not None and fsnn[0] < 0) or any(x >= 1 for x in share):
        return "DSNN reproduced; FSNN not reproduced", text
    return "reproduced", text


def _target_verdict(res: dict, variants: dict, where: str, unfinished: str) -> tuple[str, str]:
    """A benchmark's target against the chosen variant's test accuracy and its 95% Wilson
    interval on the test set's size (``test_size``): met (interval above), not met (below), or
    not shown (the interval holds the target)."""
    chosen = res["summary"].get("selected") or next(iter(variants))
    acc = variants[chosen]["test_accuracy"]["mean"]
    how = _selection(res["summary"]) if res["summary"].get("selected") else ""
    target = res["target"]
    n = res.get("test_size")
    if not n:
        word = "met" if acc >= target else "not met"
        return (
            word,
            f"{100 * acc:.2f}% {'>=' if acc >= target else '<'} the {100 * target:.1f}% target{how} "
            f"{where}{unfinished}",
        )
    lo, hi = wilson(acc, n)
    interval = f"95% Wilson interval {100 * lo:.1f}..{100 * hi:.1f}% on {n} test samples"
    if lo >= target:
        return "met", f"{100 * acc:.2f}% ({interval}) is above the {100 * target:.1f}% target{how} {where}{unfinished}"
    if hi < target:
        return (
            "not met",
            f"{100 * acc:.2f}% ({interval}) is below the {100 * target:.1f}% target{how} {where}{unfinished}",
        )
    return "not shown", (
        f"{100 * acc:.2f}% ({interval}) contains the {100 * target:.1f}% target: not shown at "
        f"this test-set size{how} {where}{unfinished}"
    )


def _selection(summary: dict) -> str:
    """How the reported variant was chosen: its mean final validation accuracy against the next best's."""
    val = {k: v["final_val_accuracy"]["mean"] for k, v in summary["variants"].items() if v.get("final_val_accuracy")}
    chosen = summary["selected"]
    if chosen not in val:
        return " (the variant chosen on final validation accuracy)"
    rest = sorted((a for k, a in val.items() if k != chosen), reverse=True)
    against = f", against {100 * rest[0]:.2f}% for the next best" if rest else ""
    return f" (the variant chosen on final validation accuracy: {100 * val[chosen]:.2f}%{against})"


def _early_exit_verdict(res: dict, where: str, unfinished: str) -> tuple[str, str]:
    """The gamma rule (parameters only) in every run; the per-sample exit at the margin chosen on
    validation, its test accuracy and energy (mean over runs). Stores measured on one class:
    :data:`ONE_CLASS` (the gamma statistics, from the parameters, are still reported)."""
    runs = [r["early_exit"] for r in _done(res)]
    gammas = [g for e in runs for g in e["mean_gamma"]]
    early = [e for e in runs if e["exit_step"] < e["T"]]
    first = statistics.fmean(e["mean_gamma"][0] for e in runs)
    last = statistics.fmean(e["mean_gamma"][-1] for e in runs)
    rule = (
        f"the gamma rule exits before T in {len(early)} of {len(runs)} runs; the mean gamma of every step "
        f"stays within {min(gammas):.3f}..{max(gammas):.3f} (threshold {runs[0]['threshold']}; the scales "
        f"start at 1), {first:.3f} at step 1 and {last:.3f} at step T (mean over runs): the late steps' scales "
        + ("fall below the first step's" if last < first else "do not fall below the first step's")
    )
    if one_class(res, "early_exit"):
        return ONE_CLASS, (
            f"{rule}; the accuracies and the per-sample exit were measured on the first test "
            f"images, a single class, with the margin picked on them: not reported {where}{unfinished}"
        )
    chosen = [(e, next((p for p in e["per_sample"] if p["margin"] == e.get("chosen_margin")), None)) for e in runs]
    kept = [(e, p) for e, p in chosen if p]
    text = rule
    if kept:
        saved = statistics.fmean(1 - p["energy_mj"] / e["energy_mj"][-1] for e, p in kept if e["energy_mj"])
        change = statistics.fmean(p["accuracy"] - e["accuracy_full"] for e, p in kept)
        text += (
            f"; per-sample exit at the margin chosen on validation ({len(kept)} of {len(runs)} runs had a "
            f"margin that kept the validation accuracy): test accuracy {100 * change:+.2f} points against "
            f"all T steps, {round(100 * saved)}% less energy (mean over those runs{_one_sample(res)})"
        )
    else:
        text += "; no per-sample exit margin kept the validation accuracy"
    moved = max(abs(1.0 - e["mean_gamma"][-1]) for e in runs)  # the last step's scale, which the claim says falls
    if not early and moved <= GAMMA_MOVED:
        return "not shown", (
            f"{text}; the last step's mean BNTT scale moved at most {moved:.3f} from its start at 1 (the rule "
            f"asks for more than {GAMMA_MOVED:g}): the training was too short to test the claim {where}{unfinished}"
        )
    if not early:
        return "not reproduced", (
            f"{text}; the last step's mean BNTT scale moved {moved:.3f} from its start at 1 (largest over "
            f"runs), yet the rule never exits early ({len(runs)} run{'s' if len(runs) > 1 else ''}) {where}{unfinished}"
        )
    text += f" {where}{unfinished}"
    drop = max(e["accuracy_full"] - e["accuracy_at_exit"] for e in early)
    if len(early) == len(runs) and drop <= 0.01:
        return "reproduced", text
    return "not reproduced", text + f"; accuracy drop at the gamma rule's exit up to {100 * drop:.2f} points"


def strength(attack: str, s: str) -> str:
    """A perturbation as the tables say it: Gaussian noise by its sigma, an attack's eps in /255."""
    return f"{attack} {float(s):g}" if attack == "gaussian" else f"{attack} {round(float(s) * 255)}/255"


def attack_masked(res: dict) -> list[str]:
    """Models and strengths where PGD (mean over seeds) leaves more accuracy than FGSM at the
    same eps: a weaker iterative attack means the gradient is masked."""
    masked = []
    for variant in dict.fromkeys(r["variant"] for r in _done(res)):
        rs = [r for r in _done(res) if r["variant"] == variant]
        acc = rs[0]["robustness"]["accuracy"]
        for s in acc.get("pgd", {}):
            if float(s) > 0 and s in acc.get("fgsm", {}):
                pgd = statistics.fmean(r["robustness"]["accuracy"]["pgd"][s] for r in rs)
                fgsm = statistics.fmean(r["robustness"]["accuracy"]["fgsm"][s] for r in rs)
                if pgd > fgsm:
                    masked.append(f"{rs[0]['label']} at {strength('eps', s)}")
    return masked


def _robustness_verdict(res: dict, where: str, unfinished: str, judge: Judge) -> tuple[str, str]:
    """Per perturbation, the share of clean accuracy the SNN keeps against its ANN twin's, judged
    by :data:`RULE` over seeds; a masked attack (:func:`attack_masked`) is said first."""
    if one_class(res, "robustness"):
        return ONE_CLASS, (
            "the accuracies under perturbation were measured on the first test images, a single "
            f"class, with a 7-step PGD without expectation over the encoding: not reported {where}"
            f"{unfinished}"
        )
    # accuracy retained under each perturbation (accuracy / the run's clean accuracy): the SNN and
    # its ANN twin need not reach the same clean accuracy at a small budget
    kept: dict[tuple, list[float]] = {}
    for r in _done(res):
        for attack, acc in r["robustness"]["accuracy"].items():
            for s in acc:
                share = _kept(r["robustness"], attack, s) if float(s) > 0 else None
                if share is not None:
                    kept.setdefault((r["variant"], attack, s), []).append(share)

    def ms(values: list[float]) -> dict:
        return {
            "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values),
        }

    snn = {k[1:]: ms(v) for k, v in kept.items() if k[0] == "bntt"}
    ann = {k[1:]: ms(v) for k, v in kept.items() if k[0] == "ann"}
    common = [k for k in snn if k in ann]
    if not common:
        return "not finished yet", "needs both the SNN and its ANN twin" + unfinished
    states = {k: judge.gap(snn[k], ann[k]) for k in common}
    shown = [k for k in common if states[k][1] == "shown" and states[k][0] > 0]
    parts = ", ".join(
        f"{strength(a, s)}: {100 * states[(a, s)][0]:+.1f} points ({states[(a, s)][2]})" for a, s in common
    )
    caveat = " (white-box attacks through the surrogate gradient: an upper bound, see the claim)"
    text = (
        f"share of clean accuracy kept, SNN minus ANN: {parts}; the SNN keeps more under {len(shown)} of "
        f"{len(common)} perturbations{caveat}"
    )
    masked = attack_masked(res)
    if masked:
        text = f"attack masked: PGD is weaker than FGSM for {', '.join(masked)}; " + text
    text += f" {where}{unfinished}"
    words = [("reproduced" if g > 0 else "not reproduced") if st == "shown" else st for g, st, _ in states.values()]
    word = _combine(words)
    if masked and word == "reproduced":
        word = "not shown (attack masked)"
    return word, text


def _progress(run: dict) -> str:
    """How far an unfinished run has trained: its epochs and last validation accuracy."""
    last = run["curves"][-1]
    val = f", validation accuracy {100 * last['val_accuracy']:.2f}%" if last.get("val_accuracy") is not None else ""
    return f"{run['variant']} seed {run['seed']} at epoch {last['epoch']} of {run['config']['train']['epochs']}{val}"


def verdict(res: dict) -> tuple[str, str]:
    """(word, why) from the numbers, by :data:`RULE`: judged twice, the second time with the raw
    p-values of every test the first made (Holm's family, :class:`Judge`)."""
    first = Judge()
    _verdict(res, first)
    judge = Judge(first.p)
    word, why = _verdict(res, judge)
    assert judge.p == first.p, "a verdict makes the same tests, in the same order, both times"
    return word, why


def _verdict(res: dict, judge: Judge) -> tuple[str, str]:
    variants = {k: v for k, v in res["summary"]["variants"].items() if v["test_accuracy"]}
    where = f"at the {res['scale']} scale"
    if not variants:
        started = [r for r in res["runs"] if r["curves"]]
        if started:
            return (
                "not finished yet",
                f"{len(started)} of {len(res['runs'])} runs started, none finished: "
                + "; ".join(map(_progress, started)),
            )
        return "not run yet", "no run has finished"
    missing = len(res["runs"]) - len(_done(res))
    unfinished = f"; {missing} of {len(res['runs'])} runs not finished yet" if missing else ""
    name = res["experiment"]
    if res.get("target") is not None:
        return _target_verdict(res, variants, where, unfinished)
    if name == "bntt_norms":
        return _norms_verdict(res, variants, where, unfinished, judge)
    if res.get("analysis") == "early_exit":  # experiment 2, and experiment 7's longer run
        return _early_exit_verdict(res, where, unfinished)
    if name == "robustness":
        return _robustness_verdict(res, where, unfinished, judge)
    if name == "dst_depth":
        word, why = _depth_verdict(variants, where, unfinished, judge)
        if one_class(res, "energy"):  # the energy shares of the verdict: measured on one class
            why += "; the energy counts ran on the first test images, a single class: pending re-run"
        return word, why
    return "not judged", "no rule for this experiment"


# ------------------------------------------------------------------------------ sections
def result_table(res: dict) -> list[str]:
    s = res["summary"]["variants"]
    fsnn = any("fsnn_energy_mj" in v for v in s.values())
    head = "| variant | seeds done | test accuracy | final val accuracy | AC / sample | MAC / sample | energy (mJ) |"
    head += " FSNN test accuracy | FSNN energy (mJ) |" if fsnn else ""
    head += " CPU time / run |"
    lines = [head, "|" + "---|" * head.count(" |")]
    for name, v in s.items():
        mark = " (chosen on val)" if res["summary"].get("selected") == name else ""
        seeds = ", ".join(map(str, v["seeds_done"])) or "none"
        if v.get("seeds_diverged"):
            seeds += f" (diverged: {', '.join(map(str, v['seeds_diverged']))})"
        row = (
            f"| {v['label']}{mark} | {seeds} | {pct(v['test_accuracy'])} | "
            f"{pct(v['final_val_accuracy'])} | {count(v['ac'])} | {count(v['mac'])} | "
            f"{num(v['energy_mj'], digits=3)} |"
        )
        if fsnn:
            row += f" {pct(v.get('fsnn_test_accuracy'))} | {num(v.get('fsnn_energy_mj'), digits=3)} |"
        row += f" {num(v['train_cpu_seconds'], 1 / 60, ' min', 3)} |"
        lines.append(row)
    return lines


def early_exit_table(res: dict) -> list[str]:
    """Per run: the gamma rule's exit and, at the margin chosen on validation, the per-sample
    exit's mean step, test accuracy and energy saved."""
    lines = [
        "| seed | test accuracy (whole test split) | T | mean gamma, step 1 -> T | exit step (gamma rule) | "
        "accuracy at exit | accuracy at T | energy saved | "
        "per-sample exit at the margin chosen on validation (margin: mean step, test accuracy, energy saved) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in _done(res):
        e = r["early_exit"]
        full = e["energy_mj"][-1] if e["energy_mj"] else None
        p = next((p for p in e["per_sample"] if p["margin"] == e.get("chosen_margin")), None)
        ps_text = (
            (
                f"{p['margin']}: {p['mean_latency']:.1f}, {100 * p['accuracy']:.2f}%"
                + (f", {round(100 * (1 - p['energy_mj'] / full))}%" if full else "")
            )
            if p
            else "no margin kept the validation accuracy"
        ) + _validation_evidence(e, p)
        saved = "–" if e["energy_saved"] is None else f"{round(100 * e['energy_saved'])}%"
        lines.append(
            f"| {r['seed']} | {100 * r['test_accuracy']:.2f}% | {e['T']} | "
            f"{e['mean_gamma'][0]:.3f} -> {e['mean_gamma'][-1]:.3f} | {e['exit_step']} | "
            f"{100 * e['accuracy_at_exit']:.2f}% | "
            f"{100 * e['accuracy_full']:.2f}% | {saved} | {ps_text} |"
        )
    return lines


def _validation_evidence(e: dict, chosen: dict | None) -> str:
    """What the margin's choice saw on validation (stores that record it): the chosen margin's
    validation accuracy, or the best any margin reached, against that of all T steps."""
    val = [p for p in e["per_sample"] if "val_accuracy" in p]
    if not val or e.get("val_accuracy_full") is None:
        return ""
    seen = chosen if chosen is not None else max(val, key=lambda p: p["val_accuracy"])
    which = "" if chosen is not None else f"best {seen['margin']}: "
    return (
        f" (validation, {e['val_samples']} samples: {which}{100 * seen['val_accuracy']:.2f}% against "
        f"{100 * e['val_accuracy_full']:.2f}% at T)"
    )


def clean_accuracy(rob: dict) -> float:
    """A run's clean accuracy (0..1): the mean of every clean measurement of its robustness
    analysis (``clean`` and each perturbation at strength 0), each a fresh draw of a stochastic
    input encoding (or, with ``shared_draws``, the same draw: equal values); the base of the share
    of clean accuracy a perturbation leaves."""
    return statistics.fmean(_clean_measurements(rob))


def _clean_measurements(rob: dict) -> list[float]:
    return [rob["clean"]] + [a for acc in rob["accuracy"].values() for s, a in acc.items() if float(s) == 0]


def _kept(rob: dict, attack: str, s: str) -> float | None:
    """The share of the run's clean accuracy (:func:`clean_accuracy`) left under ``attack`` at ``s``
    (None when the clean accuracy is 0: nothing to keep)."""
    clean = clean_accuracy(rob)
    return rob["accuracy"][attack][s] / clean if clean else None


def robustness_table(res: dict) -> list[str]:
    """Per model: the clean accuracy and the accuracy under each perturbation (mean ± std over
    seeds), then the share of clean accuracy kept (mean over seeds of each run's share)."""
    done = _done(res)
    if not done:
        return []
    cols = [(a, s) for a, acc in done[0]["robustness"]["accuracy"].items() for s in acc if float(s) > 0]
    head = "| model | clean (mean of each run's clean measurements) | " + " | ".join(strength(a, s) for a, s in cols)
    lines = [head + " |", "|" + "---|" * (len(cols) + 2)]

    def cell(values: list[float]) -> str:
        spread = f" ± {100 * statistics.stdev(values):.1f}" if len(values) > 1 else ""
        return f"{100 * statistics.fmean(values):.1f}{spread}%"

    for variant in dict.fromkeys(r["variant"] for r in done):
        rs = [r for r in done if r["variant"] == variant]
        rob = [r["robustness"] for r in rs]
        lines.append(
            f"| {rs[0]['label']} (n={len(rs)}) | {cell([clean_accuracy(x) for x in rob])} | "
            + " | ".join(cell([x["accuracy"][a][s] for x in rob]) for a, s in cols)
            + " |"
        )
        shares = [[k for x in rob if (k := _kept(x, a, s)) is not None] for a, s in cols]
        lines.append(
            f"| {rs[0]['label']}: share of clean accuracy kept | 100% | "
            + " | ".join(f"{100 * statistics.fmean(k):.0f}%" if k else "–" for k in shares)
            + " |"
        )
    return lines


def encoding_noise_line(res: dict) -> str | None:
    """How far a run's clean measurements (fresh draws of the input encoding, same images) lie
    apart, per model: the sampling noise of the encoding, beside the gaps the verdict judges. Runs
    whose analysis shared one draw per batch across the clean and perturbed measurements
    (``shared_draws``, common random numbers) have no such spread to report, and are said so."""
    done = [r for r in _done(res) if r.get("robustness")]
    if not done:
        return None
    shared = sum(bool(r["robustness"].get("shared_draws")) for r in done)
    common = (
        "the clean and every perturbed accuracy of a batch are measured on one shared draw of the input "
        "encoding (common random numbers), so gaps between perturbations are not encoding noise"
    )
    if shared == len(done):
        return common
    fresh = [r for r in done if not r["robustness"].get("shared_draws")]
    parts = []
    for variant in dict.fromkeys(r["variant"] for r in fresh):
        rs = [r for r in fresh if r["variant"] == variant]
        measured = [_clean_measurements(r["robustness"]) for r in rs]
        ranges = [max(m) - min(m) for m in measured]
        parts.append(
            f"{rs[0]['label']}: {'/'.join(sorted({str(len(m)) for m in measured}))} measurements per run, "
            f"{100 * statistics.fmean(ranges):.1f} points apart on average ({100 * max(ranges):.1f} at most)"
        )
    mixed = f"; in the other {shared} of {len(done)} runs {common}" if shared else ""
    return (
        "each run measures its clean accuracy several times on the same images, each time with a fresh draw "
        "of the input encoding: " + "; ".join(parts) + ". Shares of clean accuracy use their mean as the base" + mixed
    )


def _analysis_size(res: dict) -> int | None:
    """How many samples the finished runs' analysis ran on (None: not recorded, or not one size)."""
    key = res.get("analysis")
    if not key:
        return None
    sizes = {r[key]["analysis_set"]["size"] for r in _done(res) if (r.get(key) or {}).get("analysis_set")}
    return sizes.pop() if len(sizes) == 1 else None


def _one_sample(res: dict) -> str:
    n = _analysis_size(res)
    return f"; on {n} test samples one sample is {100 / n:.2f} points" if n else ""


def sampling_line(res: dict) -> str | None:
    """The sampling error of the accuracies an analysis measured on its analysis set: the 95%
    Wilson interval at their mean accuracy, and what one sample weighs."""
    n, key = _analysis_size(res), res.get("analysis")
    if not n:
        return None
    field = {"early_exit": lambda x: x["accuracy_full"], "robustness": clean_accuracy}.get(key)
    if field is None:
        return None
    acc = statistics.fmean(field(r[key]) for r in _done(res) if r.get(key))
    lo, hi = wilson(acc, n)
    return (
        f"the analysis' accuracies are measured on the {n} samples of the analysis set: at {100 * acc:.1f}% "
        f"(their mean) the 95% Wilson interval is {100 * lo:.1f}..{100 * hi:.1f}%, and one sample is "
        f"{100 / n:.2f} points"
    )


def convergence(res: dict) -> tuple[str, bool] | None:
    """How much the validation accuracy still moved over the last epoch of each finished run (in
    points), and whether the curves have flattened: the median change within 1 point."""
    gains = []
    for r in _done(res):
        val = [row["val_accuracy"] for row in r.get("curves") or [] if "val_accuracy" in row]
        if len(val) >= 2:
            gains.append(100 * (val[-1] - val[-2]))
    if not gains:
        return None
    mid = round(statistics.median(gains), 1)
    flat = abs(mid) <= 1.0
    state = "the median change is within 1 point" if flat else "the curves have not flattened"
    return (
        f"Over the last epoch of each finished run the validation accuracy changed by "
        f"{min(gains):+.1f}..{max(gains):+.1f} points (median {mid:+.1f}, {len(gains)} runs); {state}",
        flat,
    )


def silent_branches(res: dict, below: float = 0.01) -> str | None:
    """For residual nets: how many blocks' branches end in a neuron that fires below ``below``
    (spikes per neuron and step, the run's firing rates). Such a block passes its input on (IAND,
    ADD); a zero-initialised last BN starts every branch that way. Per variant, mean over seeds."""
    counts: dict[str, list[tuple[int, int]]] = {}
    for r in _done(res):
        rates = (r.get("energy") or {}).get("firing_rates") or {}
        last: dict[str, float] = {}
        for layer, rate in sorted(rates.items()):
            block, sep, _ = layer.rpartition(".branch.")
            if sep and f"{block}.sn" not in rates:  # (a Spiking ResNet's branch ends in BN, then its add + SN)
                last[block] = rate  # sorted: the branch's last neuron (sn2, sn3) comes last
        if last:
            counts.setdefault(r["label"], []).append((sum(x < below for x in last.values()), len(last)))
    if not counts:
        return None
    parts = [f"{label} {statistics.fmean(c[0] for c in cs):.3g} of {cs[0][1]}" for label, cs in counts.items()]
    return (
        f"blocks whose residual branch ends in a neuron firing below {below:g} (the block passes its "
        f"input on; a zero-initialised last BN starts every branch so), mean over seeds: " + ", ".join(parts)
    )


def analysis_set_line(res: dict) -> str | None:
    """What the energy counts and analyses ran on: the class counts of the class-balanced set (the
    whole test split where it holds no more samples than the analysis asked for), or that the
    stored ones ran on the first test images (one class)."""
    keys = ["energy"] + ([res["analysis"]] if res.get("analysis") not in (None, "time_statistics") else [])
    if any(one_class(res, k) for k in keys):
        which = (
            "which are a single class (the test folder is stored class by class)"
            if res.get("dataset") == "cifar10"
            else "in file order, not a class-balanced selection"
        )
        return (
            f"the energy counts and analyses of these stored results ran on the first test images, {which}: "
            "energy per sample may be biased by a few percent; pending re-run on the class-balanced set"
        )
    sets = [r[k]["analysis_set"] for r in _done(res) for k in keys if (r.get(k) or {}).get("analysis_set")]
    if not sets:
        return None
    first = sets[0]
    counts = ", ".join(f"{c} {n}" for c, n in first["class_counts"].items())
    split = first.get("split", "test")
    if split == "test" and first["size"] == res.get("test_size"):  # no fewer asked for than the split holds
        n = first["class_counts"].values()
        uneven = ", whose classes are not balanced" if n and max(n) - min(n) > 1 else ""
        return f"all {first['size']} test samples: the whole split{uneven} ({counts})"
    return f"{first['size']} {split} samples, {first['indices_rule']} ({counts})"


#: plots drawn from an analysis that a one-class store must not show
ONE_CLASS_PLOTS = {"early_exit": {"exit_accuracy.png"}, "robustness": {"robustness.png"}}


def trained_on_line(res: dict) -> list[str]:
    """Where the finished runs trained, when that is not (only) the machine the results were
    collected on (runs of a study spread over machines, or restored from the store)."""
    where: dict[str, list[str]] = {}
    unrecorded = False
    for r in _done(res):
        unrecorded |= not r.get("trained_on")
        for m in r.get("trained_on") or []:
            where.setdefault(m, []).append(f"{r['variant']} seed {r['seed']}")
    if not where or set(where) == {res["machine"]}:
        return []
    others = "; the others on the machine above" if unrecorded else ""
    return ["**Trained on.** " + "; ".join(f"{m} ({', '.join(runs)})" for m, runs in where.items()) + others]


def public_command(command: str) -> str:
    """The recorded command with the machine's folders replaced by placeholders (``--out OUT``,
    ``--data-root DIR``, ``name=DIR``): the page shows how to run it, not where it ran."""
    command = re.sub(r"--out \S+", "--out OUT", command)
    command = re.sub(r"--data-root \S+", "--data-root DIR", command)
    return re.sub(r"(\w+)=/\S+", r"\1=DIR", command)


def section(name: str, store: Path, scales: list[str], repo: Path) -> tuple[list[str], tuple]:
    exp = get_experiment(name)
    found = next(
        (store / name / s / "results.json" for s in scales if (store / name / s / "results.json").is_file()), None
    )
    lines = [f"### {exp.number}. {exp.title}", "", f"**Claim.** {exp.claim}", ""]
    if exp.paper:
        lines += [f"**What the paper measured.** {exp.paper}.", ""]
    if found is None:
        cpu = exp.scales.get("cpu")
        lines += [
            f"**Our setting (cpu scale).** {cpu.note}." if cpu else "",
            "",
            f"**Command.** `fullspike reproduce {name} --scale cpu --data-root DIR`",
            "",
            "**Result.** not run yet.",
            "",
            "**Verdict.** not run yet.",
            "",
        ]
        return lines, (exp.number, exp.title, "not run yet", "–")
    res = json.loads(found.read_text())
    sizes = {(r.get("energy") or {}).get("test_size") for r in _done(res)} - {None}
    res["test_size"] = sizes.pop() if len(sizes) == 1 else exp.test_size  # measured; else the data set's size
    res.setdefault("dataset", exp.dataset)
    word, why = verdict(res)
    done = len(_done(res))
    if done < len(res["runs"]) and not any(w in word for w in ("needs", "pending", "not run", "not finished")):
        word += " so far"  # provisional while runs of the experiment are still to finish
    trained_on = trained_on_line(res)
    lines += [
        f"**Our setting ({res['scale']} scale).** "
        f"{exp.scales[res['scale']].note if res['scale'] in exp.scales else res.get('setting', '–')}.",
        "",
        f"**Command.** `{public_command(res['command'])}`  ",
        f"**Date, machine.** {res['date']}; {res['machine']}" + ("  " if trained_on else ""),
        *trained_on,
        "",
    ]
    analysis = res.get("analysis")
    stale = analysis in ONE_CLASS_PLOTS and one_class(res, analysis)
    if done:
        per_run = analysis == "early_exit" and not stale
        how = "one row per run" if per_run else "mean ± std over seeds"
        lines += [f"**Result** ({done} of {len(res['runs'])} runs finished; {how}):", ""]
        lines += early_exit_table(res) if per_run else result_table(res)
    else:
        lines += [f"**Result.** No run has finished yet ({len(res['runs'])} planned; the curves so far below)."]
    if done and analysis == "robustness" and not stale:
        lines += ["", "Accuracy under perturbation (mean ± std over seeds):", ""] + robustness_table(res)
    if stale:
        lines += [
            "",
            f"*{analysis.replace('_', ' ').capitalize()}.* {ONE_CLASS}: the stored analysis ran on the "
            "first test images, all of one class, so its numbers are not reported here.",
        ]
    planned = exp.scales[res["scale"]].seeds if res["scale"] in exp.scales else ()
    held = sorted({r["seed"] for r in res["runs"]})
    if set(planned) - set(held):
        lines += [
            "",
            f"*Plan.* The {res['scale']} scale now plans seeds {', '.join(map(str, planned))}; these results "
            f"hold seeds {', '.join(map(str, held))}: `{public_command(res['command'])}` trains the missing "
            "runs (finished "
            "runs are skipped).",
        ]
    chosen_set = analysis_set_line(res)
    if chosen_set:
        lines += ["", f"*Analysis set.* {chosen_set[0].upper()}{chosen_set[1:]}."]
    for title, line in (("Sampling error", sampling_line(res)), ("Encoding noise", encoding_noise_line(res))):
        if line and not stale:
            lines += ["", f"*{title}.* {line[0].upper()}{line[1:]}."]
    moved = convergence(res)
    if moved:
        lines += ["", f"*Convergence.* {moved[0]}."]
        if not moved[1] and "reproduced" in word:
            why += "; measured before the curves flattened, so longer training may still change the ranking"
    silent = silent_branches(res)
    if silent:
        lines += ["", f"*Residual branches.* {silent[0].upper()}{silent[1:]}."]
    lines.append("")
    rel = found.parent.relative_to(repo) if found.is_relative_to(repo) else found.parent
    hidden = ONE_CLASS_PLOTS.get(analysis, set()) if stale else set()
    lines += [f"![{p}]({rel / p})" for p in res.get("plots", []) if p not in hidden]
    lines += [""] + [f"*Note.* {n}" for n in exp.notes] if exp.notes else []
    lines += ["", f"**Verdict: {word}.** {why}.", ""]
    s = res["summary"]["variants"]
    chosen = res["summary"].get("selected") or next(iter(s))
    one_number = res.get("analysis") is None and all(v.get("x") is None for v in s.values())
    ours = pct(s[chosen]["test_accuracy"]) if one_number else "see table" if done else "–"  # (over x: a table)
    if one_number and res.get("test_size") and s[chosen]["test_accuracy"]:
        lo, hi = wilson(s[chosen]["test_accuracy"]["mean"], res["test_size"])
        ours += f", 95% CI {100 * lo:.1f}..{100 * hi:.1f}%"
    return lines, (exp.number, exp.title, word, ours)


#: the two parts of the document: the papers' claims, then the project's own benchmarks
PARTS = {
    "claims": (
        "The papers' claims",
        "Claims of the BNTT and DST/AAP papers, tested at the scale stated in each section.",
    ),
    "benchmarks": (
        "Our benchmarks",
        "The project's own targets, not claims of the papers; accuracies with "
        "95% Wilson score intervals on the test set's size.",
    ),
}


def render(store: Path, scales: list[str], repo: Path = REPO) -> str:
    parts: dict[str, tuple[list[str], list[tuple]]] = {k: ([], []) for k in PARTS}
    for name in experiment_names():
        lines, row = section(name, store, scales, repo)
        sections, rows = parts[get_experiment(name).section]
        sections += lines
        rows.append(row)
    head = [
        "# Reproduction of the papers' claims, and our benchmarks",
        "",
        "Generated by `studies/report.py` from the JSON results of `fullspike reproduce` "
        f"(stored in `{store.relative_to(repo) if store.is_relative_to(repo) else store}/`); "
        "do not edit by hand. Test sets are used only for the final numbers; where settings "
        "were chosen, they were chosen on a validation split carved from the training set.",
        "",
        RULE,
        "",
    ]
    body: list[str] = []
    for key, (title, about) in PARTS.items():
        sections, rows = parts[key]
        head += [f"**{title}.**", "", "| # | claim | our result | verdict |", "|---|---|---|---|"]
        head += [f"| {n} | {t} | {o} | {w} |" for n, t, w, o in rows] + [""]
        body += [f"## {title}", "", about, ""] + sections
    return "\n".join(head + body).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", nargs="*", default=[], help="--out folders of `fullspike reproduce` to import")
    p.add_argument("--store", default=str(STORE))
    p.add_argument(
        "--experiments", nargs="+", metavar="NAME", help="import only these experiments' results (default: all)"
    )
    p.add_argument("--scales", nargs="+", default=["paper", "cpu"], help="scales reported, preferred first")
    p.add_argument("--out", default=str(REPO / "REPRODUCTION.md"))
    p.add_argument(
        "--store-only",
        action="store_true",
        help="import the results into the store and write no document (e.g. --store studies/in_progress: the "
        "finished runs of a study under way, for `fullspike reproduce ... --from-store studies/in_progress`)",
    )
    args = p.parse_args(argv)
    store = Path(args.store).resolve()
    try:
        imported = import_results([Path(r) for r in args.results], store, args.scales, args.experiments)
    except ConfigError as e:
        sys.exit(f"error: {e}")
    for d in imported:
        print(f"imported {d}")
    if args.store_only:
        if not imported:
            only = f" of {args.experiments}" if args.experiments else ""
            sys.exit(f"error: nothing imported: no results{only} at scale(s) {args.scales} in {args.results}")
        return
    Path(args.out).write_text(render(store, args.scales))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
