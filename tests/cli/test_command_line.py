"""Every command parses alike: ``key=value`` arguments anywhere after the command's name."""

import pytest

from fullspike.cli import build_parser


@pytest.mark.parametrize(
    "argv, dest, expected",
    [
        (["export", "RUN", "--format", "nir", "--out", "x.nir", "data.root=/d"], "overrides", ["data.root=/d"]),
        (["export", "data.root=/d", "RUN", "--out", "x.nir", "model.T=2"], "overrides", ["data.root=/d", "model.T=2"]),
        (
            ["evaluate", "data.root=/d", "--checkpoint", "zoo:x", "--split", "test", "train.device=cpu"],
            "overrides",
            ["data.root=/d", "train.device=cpu"],
        ),
        # a multi-value option does not swallow the pairs after its values
        (
            ["robustness", "--checkpoint", "C", "--eps", "0", "2", "data.root=/d", "--samples", "8"],
            "overrides",
            ["data.root=/d"],
        ),
        (["energy", "--checkpoint", "C", "data.test_subset=8", "--samples", "8"], "overrides", ["data.test_subset=8"]),
        (
            ["train", "train.epochs=1", "--config", "quickstart", "model.T=2"],
            "overrides",
            ["train.epochs=1", "model.T=2"],
        ),
        (["analyze", "firing", "--model", "sew_7bnet", "T=2", "--batches", "1"], "model_args", ["T=2"]),
    ],
)
def test_key_value_pairs_are_collected_wherever_they_stand(argv, dest, expected):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == expected


def test_option_values_and_everything_after_double_dash_are_left_alone():
    args = build_parser().parse_args(["robustness", "--checkpoint", "C", "--eps", "0", "2", "--", "a=b"])
    assert args.eps == [0, 2] and args.overrides == ["a=b"]
    args = build_parser().parse_args(["robustness", "--config", "odd=name.yaml", "--checkpoint", "C"])
    assert args.config == "odd=name.yaml" and args.overrides == []
    args = build_parser().parse_args(["export", "RUN", "--samples=4", "x.y=1"])
    assert args.samples == 4 and args.overrides == ["x.y=1"] and args.run == "RUN"


def test_a_command_without_key_value_arguments_still_rejects_them(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["models", "a=b", "c=d"])
    assert "unrecognized arguments" in capsys.readouterr().err
