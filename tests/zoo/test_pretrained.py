"""timm habits on the zoo: list_models(pretrained=True), architecture names picking their one
entry, the hook the zoo registers into the models layer, whole cards, and cards without paths."""

import json
import math

import pytest

import fullspike
from fullspike.cli import main
from fullspike.cli.catalog import wilson_interval
from fullspike.errors import ConfigError, RegistryError
from fullspike.models import registry
from fullspike.zoo import ZOO_DIR, card, cards, entry_name

ENTRIES = sorted(cards())
ARCHS = {}
for _n, _c in cards().items():
    ARCHS.setdefault(_c["model"], []).append(_n)


def test_list_models_pretrained_lists_the_zoo():
    assert fullspike.list_models(pretrained=True) == ENTRIES
    assert fullspike.list_models("*bntt*", pretrained=True) == [n for n in ENTRIES if "bntt" in n]
    assert not set(ENTRIES) & set(fullspike.list_models())  # architectures and entries are separate lists


@pytest.mark.parametrize("arch", sorted(a for a, n in ARCHS.items() if len(n) == 1))
def test_an_architecture_with_one_entry_loads_it(arch):
    model = fullspike.create_model(arch, pretrained=True)
    same = fullspike.create_model(ARCHS[arch][0], pretrained=True)
    assert not model.training
    assert all(a.equal(b) for a, b in zip(model.state_dict().values(), same.state_dict().values()))
    assert entry_name(arch) == ARCHS[arch][0] and card(f"zoo:{arch}")["name"] == ARCHS[arch][0]


def test_an_architecture_with_several_entries_lists_them_and_one_without_says_so():
    several = [a for a, n in ARCHS.items() if len(n) > 1]
    if several:
        with pytest.raises(RegistryError) as e:
            fullspike.create_model(several[0], pretrained=True)
        assert all(n in str(e.value) for n in ARCHS[several[0]]) and "\n" not in str(e.value)
    untrained = next(a for a in fullspike.list_models() if a not in ARCHS)
    with pytest.raises(RegistryError, match=f"the zoo has no trained '{untrained}'"):
        fullspike.create_model(untrained, pretrained=True)


def test_without_a_registered_source_pretrained_is_one_line():
    source = registry._pretrained
    registry.set_pretrained_resolver(None)
    try:
        with pytest.raises(ConfigError, match="no source of pretrained weights is registered"):
            fullspike.create_model(ENTRIES[0], pretrained=True)
        with pytest.raises(ConfigError, match="no source of pretrained weights"):
            fullspike.list_models(pretrained=True)
        assert fullspike.create_model("bntt_convnet", T=2) is not None  # the rest works
    finally:
        registry.set_pretrained_resolver(source)


def _strings(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj


def test_cards_hold_no_machine_path():
    data = json.loads((ZOO_DIR / "cards.json").read_text())
    for name, c in data.items():
        assert c["config"]["data"]["root"] is None, name
        for s in _strings(c):
            assert not any(w.startswith(("/", "~")) or w[1:3] == ":\\" for w in s.split()), (name, s)


def test_wilson_interval_matches_textbook_values():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    lo, hi = wilson_interval(98, 100)
    assert (lo, hi) == pytest.approx((0.9300, 0.9945), abs=1e-4)
    lo, hi = wilson_interval(5000, 10000)
    assert hi - lo == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 10000), rel=1e-3)  # the normal limit


@pytest.mark.parametrize("name", ENTRIES)
def test_models_card_prints_the_whole_card(name, capsys):
    assert main(["models", "--card", name]) == 0
    out = capsys.readouterr().out
    c = card(name)
    lo, hi = wilson_interval(round(c["test_accuracy"] * c["test_samples"]), c["test_samples"])
    for text in (
        c["dataset"],
        f"test set {c['test_samples']} samples",
        f"{100 * c['test_accuracy']:.2f}%",
        f"95% Wilson interval {100 * lo:.2f}-{100 * hi:.2f}%",
        f"time steps T   {c['T']}",
        f"{c['params']:,}",
        "AC",
        "MAC",
        f"{c['energy']['energy_mj']:.4g} mJ",
        "firing rate",
        c["command"],
        c["date"],
        c["machine"],
        c["sha256"],
    ):
        assert text in out, text
    assert all(layer in out for layer in c["energy"]["firing_rates"])
    # a selection says it is class-balanced; a count as large as the test set is the whole set
    for samples in (c["energy"]["samples"], c["check"]["test_samples"]):
        whole = samples >= c["test_samples"]
        said = f"all {c['test_samples']} test samples" if whole else f"{samples} class-balanced test samples"
        assert said in out, said


def test_models_card_of_an_unknown_name_is_one_line(capsys):
    assert main(["models", "--card", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown pretrained model 'nope'") and "\n" not in err
