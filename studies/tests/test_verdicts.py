"""studies/report.py's verdicts: gaps judged by Welch's t-test with 3 seeds a side and Holm's
correction over an experiment's tests at 5% (never "partly"), benchmarks against 95% Wilson
intervals, the early-exit margin chosen on validation, robustness over seeds with the
attack-strength check, and stores measured on one class pending."""

import pytest


def _res(name, variants, selected=None, target=None, runs=None):
    return {
        "experiment": name,
        "scale": "cpu",
        "target": target,
        "runs": runs or [{"status": "done"}],
        "summary": {"variants": variants, "selected": selected},
    }


def _v(mean, std, x=None, series=None, n=3):
    return {"test_accuracy": {"mean": mean, "std": std, "n": n}, "label": series or "v", "x": x, "series": series}


def test_gaps_are_judged_by_welch_at_5_percent_with_3_seeds(report):
    from studies.stats import welch

    stats = pytest.importorskip("scipy.stats")
    a, b = {"mean": 0.50, "std": 0.01, "n": 3}, {"mean": 0.47, "std": 0.01, "n": 4}
    p = stats.ttest_ind_from_stats(0.50, 0.01, 3, 0.47, 0.01, 4, equal_var=False).pvalue
    assert report.Judge().gap(a, b) == (pytest.approx(0.03), "shown", f"shown, Welch p={p:.2g}") and p < 0.05
    # the same test first of a family of five (p, 0.2, 0.3, 0.4, 0.5): Holm multiplies the smallest p by 5
    p = welch(0.50, 0.01, 3, 0.47, 0.01, 4).p
    assert p < 0.05 < 5 * p
    assert report.Judge([p, 0.2, 0.3, 0.4, 0.5]).gap(a, b)[1:] == (
        "not shown",
        f"not shown, Welch p={p:.2g}, Holm p={5 * p:.2g}",
    )
    nan = {"mean": 0.5, "std": float("nan"), "n": 3}  # a summary without a spread: not judged, not in the family
    judge = report.Judge()
    assert judge.gap(nan, b)[1:] == ("not judged", "not judged: no finite Welch p") and judge.p == []
    b["std"] = 0.05  # the same gap inside wider error bars: not shown, never "partly"
    assert report.Judge().gap(a, b)[1] == "not shown"
    assert report.Judge().gap(a, {**b, "n": 2})[1:] == ("needs 3 seeds", "needs 3 seeds, n=2")


def test_holm_adjusted_p_values():
    from studies.stats import holm_adjusted

    # sorted 0.01, 0.03, 0.04, 0.5: times 4, 3, 2, 1, each at least the one before it; the input's order kept
    assert holm_adjusted([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm_adjusted([0.2]) == [0.2] and holm_adjusted([0.6, 0.6]) == [1.0, 1.0]
    assert holm_adjusted([0.02, 0.02, 0.001]) == pytest.approx([0.04, 0.04, 0.003])  # ties: the same value
    assert holm_adjusted([]) == []


def test_a_verdict_corrects_for_all_its_tests(report):
    # two gaps at p just under 0.05 each: shown alone, not shown together (Holm over the verdict's family)
    a, b = _v(0.6, 0.02, 10, "BNTT"), _v(0.55, 0.02, 10, "one shared BN")
    word, why = report.verdict(_res("bntt_norms", {"bntt": a, "bn": b}))
    assert word == "T=10: reproduced" and "Holm" not in why
    at25 = {"bntt_t25": {**a, "x": 25}, "bn_t25": {**b, "x": 25}}
    word, why = report.verdict(_res("bntt_norms", {"bntt": a, "bn": b, **at25}))
    assert word == "T=10: not shown; T=25: not shown" and why.count("Holm p=") == 2


def test_norms_verdict_per_time_step(report):
    clear = {"bntt": _v(0.6, 0.01, 10, "BNTT"), "bn": _v(0.5, 0.01, 10, "one shared BN")}
    word, why = report.verdict(_res("bntt_norms", clear))
    assert word == "T=10: reproduced" and why.startswith(
        "T=10: BNTT leads one shared BN by 10.00 points, shown, Welch p="
    )
    close = {
        "bntt": _v(0.6, 0.05, 10, "BNTT"),
        "bn": _v(0.58, 0.05, 10, "one shared BN"),
        "none": _v(0.3, 0.05, 10, "no normalisation"),
    }
    word, why = report.verdict(_res("bntt_norms", close))
    assert word == "T=10: not shown" and "by 2.00 points, not shown, Welch p=" in why
    assert "; no normalisation: BNTT +30.00 points, shown, Welch p=" in why  # every gap stated by the rule
    # each T judged on its own; two seeds: no verdict
    mixed = {
        **clear,
        "bntt_t25": _v(0.5, 0.01, 25, "BNTT"),
        "none_t25": _v(0.6, 0.01, 25, "no normalisation"),
        "bntt_t4": _v(0.6, 0.0, 4, "BNTT", n=2),
        "bn_t4": _v(0.5, 0.0, 4, "one shared BN", n=2),
    }
    word, why = report.verdict(_res("bntt_norms", mixed))
    assert word == "T=4: needs 3 seeds; T=10: reproduced; T=25: not reproduced"
    assert "T=25: no normalisation is 10.00 points above BNTT, shown" in why and "needs 3 seeds, n=2" in why
    # BNTT finished alone (the other norms' runs still going): not finished, not "not run"
    word, why = report.verdict(_res("bntt_norms", {"bntt_t25": _v(0.43, 0.02, 25, "BNTT", n=2)}))
    assert word == "not finished yet" and why == "BNTT and at least one other norm at the same T are needed"
    # a norm whose every run diverged did not train: the claim itself
    failed = {
        "bntt": _v(0.6, 0.01, 10, "BNTT"),
        "none": {**_v(0, 0, 10, "no normalisation"), "test_accuracy": None, "seeds_diverged": [0, 1]},
    }
    assert report.verdict(_res("bntt_norms", failed)) == (
        "T=10: reproduced",
        "T=10: BNTT 60.00%; no normalisation diverged at the cpu scale",
    )
    stats = {"layers": {"a": {}}, "shift": [0.4, 0.1, 0.0], "scale": [0.5, 1.0, 1.5]}
    r = _res("bntt_norms", clear, runs=[{"status": "done", "config": {"model": {"T": 3}}, "time_statistics": stats}])
    assert report.verdict(r)[1].endswith(
        ". Trained BNTT nets, T=3: the per-step means lie 0.40 pooled standard "
        "deviations from the pooled mean at step 1 and 0.05 on average at steps "
        "2..3 (spread ratio 0.50..1.50)"
    )


def test_depth_verdict(report):
    def dst(acc, fsnn, depth, std=0.01):
        return {
            **_v(acc, std, depth, "DST (IAND + AAP)"),
            "fsnn_test_accuracy": {"mean": fsnn, "std": std, "n": 3},
            "fsnn_energy_mj": {"mean": 0.1 * depth / 18, "std": 0, "n": 3},
        }

    def sew(acc, depth):
        return {**_v(acc, 0.01, depth, "SEW ResNet (ADD)"), "energy_mj": {"mean": depth / 18, "std": 0, "n": 3}}

    both = {
        "s18": _v(0.8, 0.01, 18, "Spiking ResNet"),
        "s50": _v(0.7, 0.01, 50, "Spiking ResNet"),
        "d18": dst(0.8, 0.7, 18),
        "d50": dst(0.85, 0.75, 50),
        "e18": sew(0.8, 18),
        "e50": sew(0.8, 50),
    }
    word, why = report.verdict(_res("dst_depth", both))
    assert word == "reproduced" and "DST (IAND + AAP) +5.00 (shown, Welch p=" in why
    assert "SEW ResNet (ADD) +0.00 (not shown, Welch p=1, Holm p=1)" in why
    assert "10..10% of SEW's at depth 18, 50" in why
    both["d50"] = dst(0.85, 0.6, 50)
    assert report.verdict(_res("dst_depth", both))[0] == "DSNN reproduced; FSNN not reproduced"
    both["d50"] = dst(0.81, 0.75, 50, std=0.05)
    assert report.verdict(_res("dst_depth", both))[0] == "not shown"
    both["d50"] = dst(0.7, 0.6, 50)
    assert report.verdict(_res("dst_depth", both))[0] == "not reproduced"
    both["d50"] = {**dst(0.85, 0.75, 50), "test_accuracy": {"mean": 0.85, "std": 0.01, "n": 2}}
    assert report.verdict(_res("dst_depth", both))[0] == "needs 3 seeds"
    # a control is reported after the claim's numbers and never lends its energy to the FSNN's share
    both["d50"] = dst(0.85, 0.75, 50)
    ctl = "DST, no zero-init (control)"
    both |= {
        "c18": {**dst(0.7, 0.75, 18), "series": ctl, "control": True, "label": "c18"},
        "c50": {
            **dst(0.6, 0.5, 50),
            "series": ctl,
            "control": True,
            "label": "c50",
            "fsnn_energy_mj": {"mean": 9.0, "std": 0, "n": 3},
        },
    }
    both["d18"]["label"], both["d50"]["label"] = "d18", "d50"
    word, why = report.verdict(_res("dst_depth", both))
    assert word == "reproduced" and "of SEW's at depth 18, 50" in why and "c50 minus d50: -25.00" in why
    assert "10..10% of SEW's" in why
    shallow = {k: both[k] for k in ("s18", "d18")}  # one depth finished: no trend to judge yet
    assert report.verdict(_res("dst_depth", shallow)) == (
        "not finished yet",
        "the trend needs DST nets at two depths at least; finished so far at depth 18",
    )


def test_benchmark_targets_with_wilson_intervals(report):
    val = {"a": {"mean": 0.7, "std": 0, "n": 1}, "b": {"mean": 0.8, "std": 0, "n": 1}}
    variants = {k: {**_v(acc, 0, n=1), "final_val_accuracy": val[k]} for k, acc in (("a", 0.99), ("b", 0.98))}
    res = _res("nmnist", variants, selected="b", target=0.97)
    res["test_size"] = 100  # 98/100: the 95% interval 93.0..99.4% holds the target
    word, why = report.verdict(res)
    assert word == "not shown" and "98.00% (95% Wilson interval 93.0..99.4% on 100 test samples) contains" in why
    assert why.endswith(
        "(the variant chosen on final validation accuracy: 80.00%, against 70.00% for the next best) at the cpu scale"
    )
    res["test_size"] = 10000
    assert report.verdict(res)[0] == "met"
    res["target"] = 0.985
    assert report.verdict(res)[0] == "not met"


def _ee(gammas, acc_full, per_sample, chosen, balanced=True):
    e = {
        "T": 4,
        "exit_step": 4,
        "threshold": 0.1,
        "mean_gamma": gammas,
        "accuracy_full": acc_full,
        "accuracy_at_exit": acc_full,
        "energy_saved": 0.0,
        "energy_mj": [1.0, 2.0, 3.0, 4.0],
        "per_sample": per_sample,
        "chosen_margin": chosen,
    }
    if balanced:
        e["analysis_set"] = {"size": 4, "indices_rule": "r", "class_counts": {"a": 2, "b": 2}}
    return {"status": "done", "seed": 0, "test_accuracy": acc_full, "early_exit": e}


def test_early_exit_verdict_reports_the_margin_chosen_on_validation(report):
    runs = [
        _ee(
            [0.95, 0.96, 0.97, 0.98],
            0.5,
            [
                {"margin": 0.5, "accuracy": 0.45, "energy_mj": 3.0, "mean_latency": 3},
                {"margin": 0.9, "accuracy": 0.5, "energy_mj": 3.6, "mean_latency": 3.6},
            ],
            0.9,
        ),
        _ee(
            [0.9, 0.99, 0.99, 0.99],
            0.6,
            [
                {"margin": 0.5, "accuracy": 0.6, "energy_mj": 2.0, "mean_latency": 2},
                {"margin": 0.9, "accuracy": 0.6, "energy_mj": 2.0, "mean_latency": 2},
            ],
            0.5,
        ),
    ]
    res = {
        "experiment": "early_exit",
        "analysis": "early_exit",
        "scale": "cpu",
        "target": None,
        "runs": runs,
        "summary": {"variants": {"bntt": {"test_accuracy": {"mean": 0.55, "std": 0.05, "n": 2}}}},
    }
    word, why = report.verdict(res)
    # the scales moved at most 0.1 from their start at 1: too little training to test the claim
    assert word == "not shown" and "within 0.900..0.990 (threshold 0.1" in why
    assert "the last step's mean BNTT scale moved at most 0.020 from its start at 1 (the rule asks for more" in why
    assert "0.925 at step 1 and 0.985 at step T (mean over runs): the late steps' scales do not fall below" in why
    assert report.verdict({**res, "experiment": "bntt_long"}) == (word, why)  # experiment 7: the same analysis
    # the test numbers at the margins chosen on validation (0.9 and 0.5): 10% and 50% saved, no accuracy lost
    assert "test accuracy +0.00 points against all T steps, 30% less energy" in why
    rows = report.early_exit_table(res)[2:]
    assert "| 0.9: 3.6, 50.00%, 10% |" in rows[0] and "| 0.5: 2.0, 60.00%, 50% |" in rows[1]
    assert rows[0].startswith("| 0 | 50.00% | 4 | 0.950 -> 0.980 | 4 |")
    # a store that records what the choice saw on validation shows it beside the test numbers
    e = res["runs"][0]["early_exit"]
    e |= {"val_samples": 8, "val_accuracy_full": 0.5}
    for entry, val in zip(e["per_sample"], (0.375, 0.5), strict=True):
        entry["val_accuracy"] = val
    assert report.early_exit_table(res)[2].endswith(
        "| 0.9: 3.6, 50.00%, 10% (validation, 8 samples: 50.00% against 50.00% at T) |"
    )
    e |= {"chosen_margin": None, "val_accuracy_full": 0.625}  # no margin kept it: the best one's accuracy
    assert report.early_exit_table(res)[2].endswith(
        "| no margin kept the validation accuracy (validation, 8 samples: best 0.9: 50.00% against 62.50% at T) |"
    )
    moved = {**res, "runs": [_ee([0.5, 0.6, 0.7, 0.8], 0.5, [], None)] * 2}  # moved, and rising: against the claim
    word, why = report.verdict(moved)
    assert word == "not reproduced" and why.endswith(
        "; the last step's mean BNTT scale moved 0.200 from its start at 1 (largest over runs), yet the rule "
        "never exits early (2 runs) at the cpu scale"
    )
    # a run without the analysis (not measured yet) leaves the sampling error to the others
    assert report.sampling_line({**moved, "runs": [*moved["runs"], {"status": "done", "early_exit": None}]}) == (
        "the analysis' accuracies are measured on the 4 samples of the analysis set: at 50.0% (their mean) the "
        "95% Wilson interval is 15.0..85.0%, and one sample is 25.00 points"
    )
    res["runs"] = [_ee([0.9, 0.5, 0.2, 0.05], 0.5, [], None)]
    assert (
        "0.900 at step 1 and 0.050 at step T (mean over runs): the late steps' scales fall below"
        in report.verdict(res)[1]
    )
    # a store measured before the class-balanced selection: pending, its accuracies not given
    res["runs"] = [_ee([0.95] * 4, 0.5, [], None, balanced=False)]
    word, why = report.verdict(res)
    assert word == "pending re-run: the analysis set was one class" and "%" not in why


def test_robustness_verdict_compares_the_accuracy_kept_over_seeds(report):
    def run(variant, clean, noisy, fgsm=None, balanced=True):
        rob = {
            "clean": clean,
            "accuracy": {
                "fgsm": {"0.0": clean, "0.03": noisy if fgsm is None else fgsm},
                "pgd": {"0.0": clean, "0.03": noisy},
                "gaussian": {"0.0": clean, "0.1": noisy},
            },
        }
        if balanced:
            rob["analysis_set"] = {"size": 4, "indices_rule": "r", "class_counts": {}}
        return {"status": "done", "variant": variant, "label": variant, "robustness": rob}

    snn = [run("bntt", 0.8, 0.40 + d) for d in (0, 0.01, 0.02)]
    ann = [run("ann", 0.5, 0.10 + d) for d in (0, 0.01, 0.02)]
    res = {
        "experiment": "robustness",
        "scale": "cpu",
        "target": None,
        "runs": snn + ann,
        "summary": {"variants": {"bntt": {"test_accuracy": {"mean": 0.8, "std": 0, "n": 3}}}},
    }
    word, why = report.verdict(res)
    assert word == "reproduced" and "the SNN keeps more under 3 of 3 perturbations" in why
    for r, keep in zip(ann, (0.25, 0.26, 0.27)):  # under noise the ANN keeps as large a share (0.25..0.27 of 0.5)
        r["robustness"]["accuracy"]["gaussian"]["0.1"] = 0.5 * (0.5 + keep)
    word, why = report.verdict(res)
    assert word == "not reproduced" and "the SNN keeps more under 2 of 3 perturbations" in why
    # PGD leaving more accuracy than FGSM at the same eps: the attack is masked, said first
    res["runs"] = [run("bntt", 0.8, 0.6 + d, fgsm=0.3) for d in (0, 0.01, 0.02)] + ann
    word, why = report.verdict(res)
    assert why.startswith("attack masked: PGD is weaker than FGSM for bntt at eps 8/255")
    assert report.attack_masked({"runs": ann}) == []
    # the base of each run's share is the mean of its clean measurements (fresh encoder draws each)
    r = run("bntt", 0.8, 0.4)
    r["robustness"]["clean"] = 0.7  # the four clean measurements 0.7, 0.8, 0.8, 0.8: base 0.775
    assert report.clean_accuracy(r["robustness"]) == pytest.approx(0.775)
    table = report.robustness_table({"runs": [r]})
    assert table[0].startswith("| model | clean (mean of each run's clean measurements) | fgsm 8/255 |")
    assert table[2].startswith("| bntt (n=1) | 77.5% | 40.0% |") and table[3].startswith(
        f"| bntt: share of clean accuracy kept | 100% | {100 * 0.4 / 0.775:.0f}% |"
    )
    assert report.encoding_noise_line({"runs": [r]}) == (
        "each run measures its clean accuracy several times on the same images, each time with a fresh draw of the "
        "input encoding: bntt: 4 measurements per run, 10.0 points apart on average (10.0 at most). Shares of "
        "clean accuracy use their mean as the base"
    )
    # an analysis that shares its encoder draws (common random numbers) has no spread to report
    shared = run("bntt", 0.8, 0.4)
    shared["robustness"]["shared_draws"] = True
    assert report.encoding_noise_line({"runs": [shared]}).startswith(
        "the clean and every perturbed accuracy of a batch are measured on one shared draw"
    )
    mixed = report.encoding_noise_line({"runs": [r, shared]})
    assert "bntt: 4 measurements per run, 10.0 points apart" in mixed and mixed.endswith(
        "; in the other 1 of 2 runs the clean and every perturbed accuracy of a batch are measured on one shared "
        "draw of the input encoding (common random numbers), so gaps between perturbations are not encoding noise"
    )
    dead = run("bntt", 0.0, 0.0)  # a net at 0% clean accuracy keeps no share: a dash, no division by zero
    assert report.robustness_table({"runs": [dead]})[3] == "| bntt: share of clean accuracy kept | 100% | – | – | – |"
    res["runs"] = [run("bntt", 0.8, 0.4, balanced=False), run("ann", 0.5, 0.1, balanced=False)]
    assert report.verdict(res)[0] == "pending re-run: the analysis set was one class"


def test_the_analysis_set_line_names_a_whole_small_test_split(report):
    def res(size, counts, test_size):
        aset = {"size": size, "split": "test", "indices_rule": "class-balanced: ...", "class_counts": counts}
        return {"runs": [{"status": "done", "energy": {"analysis_set": aset}}], "test_size": test_size}

    # 100 of 100 recordings: the selection is the split itself, so its class counts are the data's
    whole = report.analysis_set_line(res(100, {"0": 8, "1": 14, "8": 2}, 100))
    assert whole == "all 100 test samples: the whole split, whose classes are not balanced (0 8, 1 14, 8 2)"
    even = report.analysis_set_line(res(4, {"a": 2, "b": 2}, 4))
    assert even == "all 4 test samples: the whole split (a 2, b 2)"
    part = report.analysis_set_line(res(256, {"a": 128, "b": 128}, 10000))
    assert part == "256 test samples, class-balanced: ... (a 128, b 128)"


def test_an_unfinished_experiment_says_how_far_each_started_run_is(report):
    def run(variant, seed, curves):
        return {
            "variant": variant,
            "seed": seed,
            "status": "partial",
            "curves": curves,
            "config": {"train": {"epochs": 30}},
        }

    res = {
        "scale": "cpu",
        "experiment": "bntt_long",
        "summary": {"variants": {"long": {"test_accuracy": None}}},
        "runs": [
            run("long", 0, [{"epoch": 1, "val_accuracy": 0.3}, {"epoch": 11, "val_accuracy": 0.5556}]),
            run("long", 1, [{"epoch": 1}]),
            run("long", 2, []),
        ],
    }
    word, why = report.verdict(res)
    assert word == "not finished yet"
    assert why == (
        "2 of 3 runs started, none finished: long seed 0 at epoch 11 of 30, validation accuracy 55.56%; "
        "long seed 1 at epoch 1 of 30"
    )
