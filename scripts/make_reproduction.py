"""Generate REPRODUCTION.md from the results of ``fullspike reproduce`` (never typed numbers).

1. ``--results DIR`` (the ``--out`` of ``fullspike reproduce``, repeatable): each
   ``DIR/<experiment>/<scale>/results.json`` of a listed scale is copied with its plots into the
   store (``docs/reproduction/<experiment>/<scale>/``), replacing the stored one.
2. REPRODUCTION.md is written from the store alone: per claim the paper's statement, our setting
   and why it is smaller, the result (mean ± std over seeds) and its plots, the command, date and
   machine, and a verdict computed from the numbers. Claims without results say "not run yet".

    python scripts/make_reproduction.py --results runs/reproduce
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
from pathlib import Path

from fullspike.reproduce import experiment_names, get_experiment

REPO = Path(__file__).resolve().parents[1]


def import_results(results_dirs: list[Path], store: Path, scales: list[str]) -> list[Path]:
    copied = []
    for d in results_dirs:
        for path in sorted(Path(d).glob("*/*/results.json")):
            exp, scale = path.parent.parent.name, path.parent.name
            if scale not in scales or exp not in experiment_names():
                continue
            dest = store / exp / scale
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            res = json.loads(path.read_text())
            shutil.copy2(path, dest / "results.json")
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
def _gap(a: dict, b: dict) -> tuple[float, bool, str]:
    """a - b for two mean/std/n accuracies: the gap, whether it is clear (beyond the sum of the two
    standard deviations, at least two seeds each) and how to say so."""
    gap, n = a["mean"] - b["mean"], min(a["n"], b["n"])
    clear = n >= 2 and abs(gap) > a["std"] + b["std"]
    return gap, clear, "clearly" if clear else "within the error bars" if n >= 2 else f"on {n} seed"


def _norms_verdict(res: dict, variants: dict, where: str, unfinished: str) -> tuple[str, str]:
    """BNTT against the best other norm at each T; a lead (either way) is clear when it exceeds the
    sum of the two standard deviations over at least two seeds each. Adds how far the trained BNTT nets'
    per-step statistics lie from the pooled ones (what one shared BN uses)."""
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
            words.append("reproduced")
            continue
        if not b or not others:
            continue
        acc = b["test_accuracy"]
        best = max(others, key=lambda o: o["test_accuracy"]["mean"])
        gap, clear, how = _gap(acc, best["test_accuracy"])
        rest = "".join(f"; {o['series']}: BNTT {100 * (acc['mean'] - o['test_accuracy']['mean']):+.2f} points"
                       for o in others if o is not best)
        texts.append(f"T={T:g}: " + (f"BNTT leads {best['series']} by {100 * gap:.2f} points, {how}" if gap > 0
                                      else f"{best['series']} is {100 * -gap:.2f} points above BNTT, {how}")
                     + rest + gone)
        words.append(("reproduced" if clear else "partly") if gap > 0 else "not reproduced")
    if not words:
        return "not run yet", "BNTT and at least one other norm at the same T are needed" + unfinished
    word = words[0] if len(set(words)) == 1 else "partly"
    stats = [(r["config"]["model"]["T"], r["time_statistics"]) for r in _done(res)
             if (r.get("time_statistics") or {}).get("layers")]
    why = "; ".join(texts) + f" {where}"
    for T in sorted({t for t, _ in stats if t > 1}):
        at = [st for t, st in stats if t == T]
        late = statistics.fmean(x for st in at for x in st["shift"][1:])
        first = statistics.fmean(st["shift"][0] for st in at)
        why += (f". Trained BNTT nets, T={T}: the per-step means lie {first:.2f} "
                f"pooled standard deviations from the pooled mean at step 1 and {late:.2f} on average at "
                f"steps 2..{T} (spread ratio {min(x for st in at for x in st['scale']):.2f}.."
                f"{max(x for st in at for x in st['scale']):.2f})")
    return word, why + unfinished


def _depth_series(variants: dict) -> tuple[dict[str, dict[int, dict]], dict[str, float], list[str]]:
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
            trend[name], _, how = _gap(at[max(at)], at[min(at)])
            parts.append(f"{name} {100 * trend[name]:+.2f} ({how})")
    return series, trend, parts


def _depth_controls(variants: dict, claim: dict, dst: str) -> str:
    """The control variants against the claim's DST net at the same depth (as DSNN and as FSNN),
    then their own trend with depth; "" without controls."""
    controls = {k: v for k, v in variants.items() if v.get("control")}
    texts = []
    for c in sorted(controls.values(), key=lambda v: v["x"]):
        base = next((b for b in claim.values() if b["series"] == dst and b["x"] == c["x"]), None)
        if base is None:
            continue
        gap, _, how = _gap(c["test_accuracy"], base["test_accuracy"])
        item = f"{c['label']} minus {base['label']}: {100 * gap:+.2f} ({how})"
        if c.get("fsnn_test_accuracy") and base.get("fsnn_test_accuracy"):
            gap, _, how = _gap(c["fsnn_test_accuracy"], base["fsnn_test_accuracy"])
            item += f", as FSNN {100 * gap:+.2f} ({how})"
        texts.append(item)
    trend = _depth_series(controls)[2]
    if trend:
        texts.append(", ".join(trend))
    return "".join(f"; {t}" for t in texts)


def _depth_verdict(variants: dict, where: str, unfinished: str) -> tuple[str, str]:
    """The DST claim across depth: DST nets gain accuracy with depth, as DSNN and as FSNN (its
    accumulation pathway removed), where plain Spiking ResNets lose; the FSNN runs at a fraction of
    SEW's energy. Each series is judged deepest minus shallowest depth, against the error bars;
    control variants are reported after the verdict's numbers, not judged."""
    claim = {k: v for k, v in variants.items() if not v.get("control")}
    series, trend, parts = _depth_series(claim)
    dst = next((s for s in series if s.startswith("DST") and not s.endswith("FSNN")), None)
    if dst is None or len(series[dst]) < 2:
        depths = sorted({v["x"] for v in claim.values()})
        return ("not finished yet", f"the trend needs DST nets at two depths at least; finished so "
                f"far at depth {', '.join(map(str, depths))}" + unfinished)
    text = f"deepest minus shallowest depth: {', '.join(parts)}"
    energy = {"fsnn": {v["x"]: v["fsnn_energy_mj"]["mean"] for v in claim.values() if v.get("fsnn_energy_mj")},
              "sew": {v["x"]: v["energy_mj"]["mean"] for v in claim.values()
                      if v["series"].startswith("SEW") and v.get("energy_mj")}}
    both = sorted(set(energy["fsnn"]) & set(energy["sew"]))
    share = [energy["fsnn"][d] / energy["sew"][d] for d in both]
    if share:
        text += (f"; the FSNN's energy per sample is {100 * min(share):.0f}..{100 * max(share):.0f}% of "
                 f"SEW's at depth {', '.join(map(str, both))}")
    text += _depth_controls(variants, claim, dst)
    plain = next((t for s, t in trend.items() if s.startswith("Spiking")), None)
    fsnn = trend.get(f"{dst} as FSNN")
    text += f" {where}{unfinished}"
    if trend[dst] < 0 or (plain is not None and plain >= trend[dst]):
        return "not reproduced", text
    if plain is None or (fsnn is not None and fsnn < 0) or any(x >= 1 for x in share):
        return "partly", text
    return "reproduced", text


def verdict(res: dict) -> tuple[str, str]:
    """(word, why) from the numbers; ``word`` in reproduced / partly / not reproduced / not run yet."""
    variants = {k: v for k, v in res["summary"]["variants"].items() if v["test_accuracy"]}
    where = f"at the {res['scale']} scale"
    if not variants:
        started = sum(bool(r["curves"]) for r in res["runs"])
        if started:
            return "not finished yet", f"{started} of {len(res['runs'])} runs started, none finished"
        return "not run yet", "no run has finished"
    missing = len(res["runs"]) - len(_done(res))
    unfinished = f"; {missing} of {len(res['runs'])} runs not finished yet" if missing else ""
    name = res["experiment"]
    if res.get("target") is not None:
        chosen = res["summary"].get("selected") or next(iter(variants))
        acc = variants[chosen]["test_accuracy"]["mean"]
        how = " (the variant chosen on validation accuracy)" if res["summary"].get("selected") else ""
        if acc >= res["target"]:
            return "reproduced", f"{100 * acc:.2f}% >= {100 * res['target']:.1f}%{how} {where}{unfinished}"
        return "not reproduced yet", (f"{100 * acc:.2f}% < the {100 * res['target']:.1f}% target{how} "
                                      f"{where}{unfinished}")
    if name == "bntt_norms":
        return _norms_verdict(res, variants, where, unfinished)
    if name == "early_exit":
        runs = [r["early_exit"] for r in _done(res)]
        early = [e for e in runs if e["exit_step"] < e["T"]]
        if not early:
            gammas = [g for e in runs for g in e["mean_gamma"]]
            per_sample = [min((p for p in e["per_sample"] if p["accuracy"] >= e["accuracy_full"]),
                              key=lambda p: p["energy_mj"], default=None) for e in runs]
            saved = [1 - p["energy_mj"] / e["energy_mj"][-1] for p, e in zip(per_sample, runs) if p]
            return "not reproduced", (
                f"the gamma rule exits at the last step T in every run {where}: the mean gamma of every "
                f"step stays within {min(gammas):.3f}..{max(gammas):.3f} (threshold {runs[0]['threshold']}; "
                f"the scales start at 1 and fall only over long training)"
                + (f"; per-sample exit keeps the full accuracy at {round(100 * statistics.fmean(saved))}% less "
                   f"energy" if saved else "") + unfinished)
        drop = max(e["accuracy_full"] - e["accuracy_at_exit"] for e in early)
        if len(early) == len(runs) and drop <= 0.01:
            saved = statistics.fmean(e["energy_saved"] or 0 for e in early)
            return "reproduced", (f"exits before T in every run, accuracy within {100 * drop:.2f} points, "
                                  f"{round(100 * saved)}% energy saved {where}{unfinished}")
        return "partly", f"early exit in {len(early)}/{len(runs)} runs, accuracy drop up to {100 * drop:.2f} points"
    if name == "robustness":
        # accuracy retained under each perturbation (accuracy / the same attack's clean accuracy):
        # the SNN and its ANN twin need not reach the same clean accuracy at a small budget
        kept: dict[tuple, list[float]] = {}
        for r in _done(res):
            for attack, acc in r["robustness"]["accuracy"].items():
                clean = next((a for s, a in acc.items() if float(s) == 0), None)
                for s, a in acc.items():
                    if float(s) > 0 and clean:
                        kept.setdefault((r["variant"], attack, s), []).append(a / clean)
        snn = {k[1:]: statistics.fmean(v) for k, v in kept.items() if k[0] == "bntt"}
        ann = {k[1:]: statistics.fmean(v) for k, v in kept.items() if k[0] == "ann"}
        common = sorted(set(snn) & set(ann))
        if not common:
            return "not run yet", "needs both the SNN and its ANN twin" + unfinished
        wins = [k for k in common if snn[k] > ann[k]]
        losses = ", ".join(f"{a} {s}" for a, s in common if (a, s) not in wins)
        caveat = " (white-box attacks through the surrogate gradient: an upper bound, see the claim)"
        text = (f"the SNN keeps more of its clean accuracy than the ANN under {len(wins)} of {len(common)} "
                f"perturbations{caveat}" + (f"; not under {losses}" if losses else "") + f" {where}{unfinished}")
        if len(wins) == len(common):
            return "reproduced", text
        return ("partly" if wins else "not reproduced"), text
    if name == "dst_depth":
        return _depth_verdict(variants, where, unfinished)
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
        seeds = ', '.join(map(str, v['seeds_done'])) or 'none'
        if v.get("seeds_diverged"):
            seeds += f" (diverged: {', '.join(map(str, v['seeds_diverged']))})"
        row = (f"| {v['label']}{mark} | {seeds} | {pct(v['test_accuracy'])} | "
               f"{pct(v['final_val_accuracy'])} | {count(v['ac'])} | {count(v['mac'])} | "
               f"{num(v['energy_mj'], digits=3)} |")
        if fsnn:
            row += f" {pct(v.get('fsnn_test_accuracy'))} | {num(v.get('fsnn_energy_mj'), digits=3)} |"
        row += f" {num(v['train_cpu_seconds'], 1 / 60, ' min', 3)} |"
        lines.append(row)
    return lines


def early_exit_table(res: dict) -> list[str]:
    lines = ["| seed | T | exit step (gamma rule) | accuracy at exit | accuracy at T | energy saved | "
             "per-sample exit (margin: mean step, accuracy, energy saved) |", "|---|---|---|---|---|---|---|"]
    for r in _done(res):
        e = r["early_exit"]
        full = e["energy_mj"][-1] if e["energy_mj"] else None
        ps_text = "; ".join(f"{p['margin']}: {p['mean_latency']:.1f}, {100 * p['accuracy']:.2f}%"
                            + (f", {round(100 * (1 - p['energy_mj'] / full))}%" if full else "")
                            for p in e["per_sample"]) or "–"
        saved = "–" if e["energy_saved"] is None else f"{round(100 * e['energy_saved'])}%"
        lines.append(f"| {r['seed']} | {e['T']} | {e['exit_step']} | {100 * e['accuracy_at_exit']:.2f}% | "
                     f"{100 * e['accuracy_full']:.2f}% | {saved} | {ps_text} |")
    return lines


def robustness_table(res: dict) -> list[str]:
    done = _done(res)
    if not done:
        return []
    cols = [(a, s) for a, acc in done[0]["robustness"]["accuracy"].items() for s in acc]
    head = "| model | " + " | ".join(f"{a} {float(s) if a == 'gaussian' else round(float(s) * 255)}"
                                      f"{'' if a == 'gaussian' else '/255'}" for a, s in cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 1)]
    for variant in dict.fromkeys(r["variant"] for r in done):
        rs = [r for r in done if r["variant"] == variant]
        vals = [statistics.fmean(r["robustness"]["accuracy"][a][s] for r in rs) for a, s in cols]
        lines.append(f"| {rs[0]['label']} (n={len(rs)}) | " + " | ".join(f"{100 * v:.1f}%" for v in vals) + " |")
        clean = {a: next(v for (b, s), v in zip(cols, vals) if b == a and float(s) == 0) for a, _ in cols}
        lines.append(f"| {rs[0]['label']}: share of clean accuracy kept | "
                     + " | ".join(f"{100 * v / clean[a]:.0f}%" if clean[a] else "–" for (a, _), v in zip(cols, vals))
                     + " |")
    return lines


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
    return (f"Over the last epoch of each finished run the validation accuracy changed by "
            f"{min(gains):+.1f}..{max(gains):+.1f} points (median {mid:+.1f}, {len(gains)} runs); {state}",
            flat)


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
    return (f"blocks whose residual branch ends in a neuron firing below {below:g} (the block passes its "
            f"input on; a zero-initialised last BN starts every branch so), mean over seeds: " + ", ".join(parts))


def public_command(command: str) -> str:
    """The recorded command with the machine's folders replaced by placeholders (``--out OUT``,
    ``--data-root DIR``, ``name=DIR``): the page shows how to run it, not where it ran."""
    command = re.sub(r"--out \S+", "--out OUT", command)
    command = re.sub(r"--data-root \S+", "--data-root DIR", command)
    return re.sub(r"(\w+)=/\S+", r"\1=DIR", command)


def section(name: str, store: Path, scales: list[str], repo: Path) -> tuple[list[str], tuple]:
    exp = get_experiment(name)
    found = next((store / name / s / "results.json" for s in scales if (store / name / s / "results.json").is_file()),
                 None)
    lines = [f"## {exp.number}. {exp.title}", "", f"**Claim.** {exp.claim}", ""]
    if found is None:
        cpu = exp.scales.get("cpu")
        lines += [f"**Our setting (cpu scale).** {cpu.note}." if cpu else "", "",
                  f"**Command.** `fullspike reproduce {name} --scale cpu --data-root DIR`", "",
                  "**Result.** not run yet.", "", "**Verdict.** not run yet.", ""]
        return lines, (exp.number, exp.title, "not run yet", "–")
    res = json.loads(found.read_text())
    word, why = verdict(res)
    done = len(_done(res))
    if done < len(res["runs"]) and word in ("reproduced", "partly", "not reproduced"):
        word += " so far"  # provisional while runs of the experiment are still to finish
    lines += [f"**Our setting ({res['scale']} scale).** {res['setting']}.", "",
              f"**Command.** `{public_command(res['command'])}`  ", f"**Date, machine.** {res['date']}; {res['machine']}", ""]
    lines += [f"**Result** ({done} of {len(res['runs'])} runs finished; mean ± std over seeds):", ""]
    lines += early_exit_table(res) if res.get("analysis") == "early_exit" else result_table(res)
    if res.get("analysis") == "robustness":
        lines += ["", "Accuracy under perturbation (mean over seeds):", ""] + robustness_table(res)
    moved = convergence(res)
    if moved:
        lines += ["", f"*Convergence.* {moved[0]}."]
        if not moved[1] and word.startswith(("reproduced", "partly")):
            why += "; measured before the curves flattened, so longer training may still change the ranking"
    silent = silent_branches(res)
    if silent:
        lines += ["", f"*Residual branches.* {silent[0].upper()}{silent[1:]}."]
    lines.append("")
    rel = found.parent.relative_to(repo) if found.is_relative_to(repo) else found.parent
    lines += [f"![{p}]({rel / p})" for p in res.get("plots", [])]
    lines += [""] + [f"*Note.* {n}" for n in exp.notes] if exp.notes else []
    lines += ["", f"**Verdict: {word}.** {why}.", ""]
    s = res["summary"]["variants"]
    chosen = res["summary"].get("selected") or next(iter(s))
    one_number = res.get("analysis") is None and all(v.get("x") is None for v in s.values())
    ours = pct(s[chosen]["test_accuracy"]) if one_number else "see table"  # (studies over x: a table)
    return lines, (exp.number, exp.title, word, ours)


def render(store: Path, scales: list[str], repo: Path = REPO) -> str:
    sections, rows = [], []
    for name in experiment_names():
        lines, row = section(name, store, scales, repo)
        sections += lines
        rows.append(row)
    head = ["# Reproduction of the papers' claims", "",
            "Generated by `scripts/make_reproduction.py` from the JSON results of `fullspike reproduce` "
            f"(stored in `{store.relative_to(repo) if store.is_relative_to(repo) else store}/`); "
            "do not edit by hand. Test sets are used only for the final numbers; where settings "
            "were chosen, they were chosen on a validation split carved from the training set.", "",
            "| # | claim | our result | verdict |", "|---|---|---|---|"]
    head += [f"| {n} | {t} | {o} | {w} |" for n, t, w, o in rows]
    return "\n".join(head + [""] + sections).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", nargs="*", default=[], help="--out folders of `fullspike reproduce` to import")
    p.add_argument("--store", default=str(REPO / "docs" / "reproduction"))
    p.add_argument("--scales", nargs="+", default=["paper", "cpu"], help="scales reported, preferred first")
    p.add_argument("--out", default=str(REPO / "REPRODUCTION.md"))
    args = p.parse_args(argv)
    store = Path(args.store).resolve()
    for d in import_results([Path(r) for r in args.results], store, args.scales):
        print(f"imported {d}")
    Path(args.out).write_text(render(store, args.scales))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
