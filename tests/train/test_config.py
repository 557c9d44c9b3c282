"""Configs: strict keys, typed values, overrides, and every shipped config loads."""

import re

import pytest

from fullspike.configs import CONFIGS_DIR
from fullspike.errors import ConfigError
from fullspike.train import load_config

CONFIGS = sorted(CONFIGS_DIR.glob("*.yaml"))


def test_defaults_are_the_quickstart():
    cfg = load_config()
    assert cfg.model_name == "bntt_convnet" and cfg.data.name == "digits"
    assert load_config(CONFIGS[0].parent / "quickstart.yaml").to_dict() == cfg.to_dict()


def test_exponent_without_a_dot_is_a_number(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {name: dst_7bnet, neuron: {name: plif, v_reset: 1e-1}}\noptim: {lr: 5e-4}\n")
    cfg = load_config(p, ["model.neuron.v_threshold=2E0"])
    assert cfg.optim.lr == 5e-4 and cfg.model["neuron"] == {"name": "plif", "v_reset": 0.1, "v_threshold": 2.0}


def test_overrides():
    cfg = load_config(
        None,
        [
            "train.epochs=3",
            "model.T=4",
            "optim.lr=1e-3",
            "data.name=fashion_mnist",
            "data.options.download=true",
            "schedule.milestones=[0.5]",
        ],
    )
    assert cfg.train.epochs == 3 and cfg.model["T"] == 4 and cfg.optim.lr == 1e-3
    assert cfg.data.options == {"download": True} and cfg.schedule.milestones == [0.5]


@pytest.mark.parametrize(
    "override,message",
    [
        ("train.epoch=3", "unknown config key 'train.epoch' (did you mean 'epochs'?)"),
        ("trian.epochs=3", "unknown config key 'trian' (did you mean 'train'?)"),
        ("optim.lr=fast", "config key 'optim.lr' must be a number"),
        ("train.amp=maybe", "config key 'train.amp' must be true or false"),
        ("train.epochs=2.5", "must be an integer"),
        ("epochs", "not of the form key=value"),
    ],
)
def test_bad_overrides(override, message):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unknown_key_in_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {name: bntt_convnet}\ndata: {name: digits, batchsize: 3}\n")
    with pytest.raises(ConfigError, match="unknown config key 'data.batchsize' \\(did you mean 'batch_size'\\?\\)"):
        load_config(p)
    p.write_text("model: {T: 3}\n")
    with pytest.raises(ConfigError, match="'model.name' is required"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    p.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


@pytest.mark.parametrize(
    "given,says",
    [
        ("nonexist.yaml", "config file nonexist.yaml not found"),
        ("./nonexist.yaml", "config file ./nonexist.yaml not found"),
        ("sub/nonexist", "config file sub/nonexist not found"),
        ("./quickstart.yaml", "the shipped config 'quickstart' is --config quickstart"),
        ("quickstar", "unknown config 'quickstar'; did you mean 'quickstart'?"),
        ("adir", "config adir is a folder, not a file"),
    ],
)
def test_a_config_that_is_not_there_says_whether_a_file_or_a_name_was_missing(tmp_path, monkeypatch, given, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    with pytest.raises(ConfigError) as e:
        load_config(given)
    assert says in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("text,says", [("", "is empty"), ("# nothing\n", "is empty"), ("- a\n", "holds ['a']")])
def test_an_empty_or_non_mapping_config_file_is_refused(tmp_path, text, says):
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=f"c.yaml {re.escape(says)}; a config is a mapping of sections"):
        load_config(tmp_path / "c.yaml")
    assert load_config("quickstart.yaml").name == "quickstart"  # a shipped name with .yaml is still the name


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_loads_and_names_a_model(path):
    import inspect

    import fullspike
    from fullspike.data import list_datasets
    from fullspike.models import model_factory

    cfg = load_config(path)
    assert cfg.model_name in fullspike.list_models()
    assert cfg.data.name in list_datasets()
    params = inspect.signature(model_factory(cfg.model_name)).parameters
    assert set(cfg.model_kwargs) <= set(params), f"{path.name}: unknown model arguments"


def error_of(overrides: list[str]) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(None, overrides)
    assert "\n" not in str(e.value)
    return str(e.value)


@pytest.mark.parametrize(
    "override,line",
    [
        ("train.epochs=0", "config key 'train.epochs' must be an integer >= 1, got 0"),
        ("optim.lr=0", "config key 'optim.lr' must be a number > 0, got 0"),
        ("optim.lr=-1e-3", "config key 'optim.lr' must be a number > 0, got -0.001"),
        ("optim.momentum=1", "config key 'optim.momentum' must be a number in [0, 1), got 1"),
        ("optim.weight_decay=-1", "config key 'optim.weight_decay' must be a number >= 0, got -1"),
        (
            ("optim.name=adam", "optim.betas=[0.9, 1.0]"),
            "config key 'optim.betas[1]' must be a number in [0, 1), got 1.0",
        ),
        ("train.grad_clip=0", "config key 'train.grad_clip' must be a number > 0 or null, got 0"),
        ("data.train_subset=0", "config key 'data.train_subset' must be an integer >= 1 or null, got 0"),
        ("data.test_subset=-5", "config key 'data.test_subset' must be an integer >= 1 or null, got -5"),
        ("data.batch_size=0", "config key 'data.batch_size' must be an integer >= 1, got 0"),
        ("data.eval_batch_size=0", "config key 'data.eval_batch_size' must be an integer >= 1 or null, got 0"),
        ("data.num_workers=-1", "config key 'data.num_workers' must be an integer >= 0, got -1"),
        ("data.val_fraction=1", "config key 'data.val_fraction' must be a number in [0, 1), got 1"),
        ("train.label_smoothing=1.5", "config key 'train.label_smoothing' must be a number in [0, 1), got 1.5"),
        ("train.seed=-1", "config key 'train.seed' must be an integer in [0, 4294967295], got -1"),
        ("train.eval_every=0", "config key 'train.eval_every' must be an integer >= 1, got 0"),
        ("schedule.gamma=0", "config key 'schedule.gamma' must be a number in (0, 1], got 0"),
        (
            ("schedule.name=step", "schedule.step_epochs=0"),
            "config key 'schedule.step_epochs' must be an integer >= 1, got 0",
        ),
        ("schedule.warmup_epochs=-1", "config key 'schedule.warmup_epochs' must be an integer >= 0, got -1"),
        # nan and inf are refused wherever a number goes, however they are written
        ("optim.lr=inf", "config key 'optim.lr' must be a number > 0, got 'inf'"),
        ("optim.lr=.inf", "config key 'optim.lr' must be a number > 0, got inf"),
        ("optim.lr=nan", "config key 'optim.lr' must be a number > 0, got 'nan'"),
        ("train.grad_clip=.inf", "config key 'train.grad_clip' must be a number > 0 or null, got inf"),
        (
            ("optim.name=adam", "optim.betas=[0.9, .inf]"),
            "config key 'optim.betas[1]' must be a number in [0, 1), got inf",
        ),
        (("schedule.name=cosine", "schedule.min_lr=-1"), "config key 'schedule.min_lr' must be a number >= 0, got -1"),
        (
            "schedule.milestones=[0.5, 1.5]",
            "config key 'schedule.milestones[1]' must be a fraction of training in "
            "(0, 1) or a whole epoch number >= 1, got 1.5",
        ),
    ],
)
def test_out_of_range_config_values(override, line):
    assert error_of([override] if isinstance(override, str) else list(override)) == line


@pytest.mark.parametrize(
    "override,line",
    [  # keys whose default is null are type-checked too
        ("data.eval_batch_size=many", "config key 'data.eval_batch_size' must be an integer, got 'many'"),
        ("train.grad_clip=high", "config key 'train.grad_clip' must be a number, got 'high'"),
        ("data.train_subset=2.5", "config key 'data.train_subset' must be an integer, got 2.5"),
        ("data.root=5", "config key 'data.root' must be a string, got 5"),
        ("train.progress=2", "config key 'train.progress' must be true or false, got 2"),
        ("train.epochs=true", "config key 'train.epochs' must be an integer, got true"),
        ("data.augment=1", "config key 'data.augment' must be true or false, got 1"),
        ("schedule.milestones=0.5", "config key 'schedule.milestones' must be a list, got 0.5"),
        (
            "optim.name=sgdd",
            "config key 'optim.name': unknown optimizer 'sgdd'; did you mean 'sgd'? choose one of adam, adamw, sgd",
        ),
        (
            "schedule.name=cosin",
            "config key 'schedule.name': unknown schedule 'cosin'; did you mean 'cosine'? "
            "choose one of constant, cosine, multistep, step",
        ),
        ("train.device=gpu", "config key 'train.device' must be auto, cpu, cuda or cuda:N, got 'gpu'"),
        ("data=5", "config section 'data' must be a mapping, got 5"),
    ],
)
def test_wrong_types(override, line):
    assert error_of([override]) == line


def test_values_at_the_edge_of_their_range_are_accepted():
    cfg = load_config(
        None,
        [
            "optim.momentum=0",
            "data.val_fraction=0",
            "train.grad_clip=null",
            "data.num_workers=0",
            "train.seed=0",
            "schedule.gamma=1",
            "model.leak=1",
            "schedule.milestones=[0.5, 30]",
            "data.root=null",
            "train.progress=null",
            "train.device=cuda:1",
            "optim.lr=1e-4",
        ],
    )
    assert cfg.optim.momentum == 0 and cfg.train.grad_clip is None and cfg.model["leak"] == 1.0
    assert cfg.optim.lr == 1e-4 and cfg.schedule.milestones == [0.5, 30]


def test_switching_the_optimiser_keeps_the_arguments_it_takes(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(
        "optim: {name: sgd, lr: 0.05, momentum: 0.5, nesterov: true}\nschedule: {name: cosine, min_lr: 0.01}\n"
    )
    cfg = load_config(p, ["optim.name=adam", "schedule.name=step"])
    assert cfg.optim.name == "adam" and cfg.optim.arguments == {"lr": 0.05, "betas": (0.9, 0.999), "weight_decay": 1e-4}
    assert cfg.schedule.arguments == {"step_epochs": 30, "gamma": 0.1}
    assert error_of(["optim.name=adam", "optim.momentum=0.9"]).startswith(  # given after the switch: refused
        "unknown config key 'optim.momentum': optimizer 'adam' has no argument(s) ['momentum']"
    )


def test_combinations():
    assert error_of(["optim.nesterov=true", "optim.momentum=0"]) == (
        "config key 'optim.nesterov' is true, which needs optim.momentum > 0, got optim.momentum=0"
    )
    assert error_of(["schedule.name=cosine", "optim.lr=0.01", "schedule.min_lr=0.1"]) == (
        "config key 'schedule.min_lr' must be <= optim.lr (0.01) for the cosine schedule (a floor it decays to), "
        "got 0.1"
    )
    assert error_of(["schedule.name=step", "schedule.min_lr=0.1"]) == (  # each schedule takes its own keys
        "unknown config key 'schedule.min_lr': schedule 'step' has no argument(s) ['min_lr']; "
        "it accepts gamma, step_epochs"
    )
    assert error_of(["optim.momentun=0.5"]) == (
        "unknown config key 'optim.momentun': optimizer 'sgd' has no argument(s) ['momentun'] "
        "(did you mean 'momentum'?); it accepts lr, momentum, nesterov, weight_decay"
    )


@pytest.mark.parametrize(
    "overrides,line",
    [
        (["model.T=0"], "config key 'model.T' must be an integer >= 1, got 0"),
        (["model.width=0"], "config key 'model.width' must be an integer >= 1, got 0"),
        (["model.hidden=-3"], "config key 'model.hidden' must be an integer >= 1, got -3"),
        (["model.num_classes=0"], "config key 'model.num_classes' must be an integer >= 1, got 0"),
        (["model.in_channels=0"], "config key 'model.in_channels' must be an integer >= 1, got 0"),
        (["model.image_size=0"], "config key 'model.image_size' must be an integer >= 1, got 0"),
        (["model.leak=0"], "config key 'model.leak' must be a number in (0, 1], got 0"),
        (["model.leak=1.5"], "config key 'model.leak' must be a number in (0, 1], got 1.5"),
        (["model.T=abc"], "config key 'model.T' must be an integer, got 'abc'"),
        (["model.T=2.5"], "config key 'model.T' must be an integer, got 2.5"),
        (["model.T=true"], "config key 'model.T' must be an integer, got true"),
        (["model.norm=3"], "config key 'model.norm' must be a string, got 3"),
        (
            ["model.name=spikformer_4_384", "model.mlp_ratio=0"],
            "config key 'model.mlp_ratio' must be a number > 0, got 0",
        ),
        (["model.name=spikformer_4_384", "model.heads=0"], "config key 'model.heads' must be an integer >= 1, got 0"),
        (
            ["model.name=spikformer_4_384", "model.dst=yes please"],
            "config key 'model.dst' must be true or false, got 'yes please'",
        ),
        (
            ["model.name=dst_7bnet", "model.neuron={name: plif, tau: 1}"],
            "config key 'model.neuron.tau' must be a number > 1, got 1",
        ),
        (
            ["model.name=dst_7bnet", "model.neuron={name: lif, leak: 0}"],
            "config key 'model.neuron.leak' must be a number in (0, 1], got 0",
        ),
        (
            ["model.name=dst_7bnet", "model.neuron={name: if, v_threshold: 0}"],
            "config key 'model.neuron.v_threshold' must be a number > 0, got 0",
        ),
        (
            ["model.name=dst_7bnet", "model.surrogate={name: atan, alpha: -2}"],
            "config key 'model.surrogate.alpha' must be a number > 0, got -2",
        ),
        (
            ["model.name=dst_7bnet", "model.neuron={name: lif, surrogate: {name: triangle, width: 0}}"],
            "config key 'model.neuron.surrogate.width' must be a number > 0, got 0",
        ),
        (["model.name=dst_7bnet", "model.neuron=5"], "config key 'model.neuron' must be a string or a mapping, got 5"),
        (
            ["model.wdith=3"],
            "unknown config key 'model.wdith': model 'bntt_convnet' has no argument(s) ['wdith'] "
            "(did you mean 'width'?); it accepts T, convs_per_stage, encoding, hidden, image_size, "
            "in_channels, leak, norm, num_classes, width",
        ),
        (["model.name=5"], "config key 'model.name' must be a string, got 5"),
    ],
)
def test_bad_model_arguments(overrides, line):
    assert error_of(overrides) == line


def test_model_arguments_are_normalised_to_their_type():
    cfg = load_config(None, ["model.T=4.0", "model.leak=1"])
    assert cfg.model == {"name": "bntt_convnet", "T": 4, "leak": 1.0}
    assert type(cfg.model["T"]) is int and type(cfg.model["leak"]) is float
    # "width" of the triangle surrogate is a real number, not the model's channel width
    cfg = load_config(None, ["model.name=dst_7bnet", "model.surrogate={name: triangle, width: 0.5}"])
    assert cfg.model["surrogate"] == {"name": "triangle", "width": 0.5}


@pytest.mark.parametrize(
    "overrides,line",
    [
        (["data.name=dvs_gesture", "data.options.T=0"], "config key 'data.options.T' must be an integer >= 1, got 0"),
        (
            ["data.name=dvs_gesture", "data.options.T_train=0"],
            "config key 'data.options.T_train' must be an integer >= 1, got 0",
        ),
        (
            ["data.name=nmnist", "data.options.resize=-1"],
            "config key 'data.options.resize' must be an integer >= 1, got -1",
        ),
        (
            ["data.name=imagenet", "data.options.image_size=0"],
            "config key 'data.options.image_size' must be an integer >= 1, got 0",
        ),
        (
            ["data.name=dvs_gesture", "data.options.split_by=5"],
            "config key 'data.options.split_by' must be a string, got 5",
        ),
        (
            ["data.name=cifar10", "data.options.download=maybe"],
            "config key 'data.options.download' must be true or false, got 'maybe'",
        ),
        (["data.name=imagefolder", "data.options.mean=0.5"], "config key 'data.options.mean' must be a list, got 0.5"),
        (
            ["data.name=dvs_gesture", "data.options.Tt=3"],
            "unknown config key 'data.options.Tt': dataset 'dvs_gesture' has no option(s) ['Tt'] (did you mean 'T'?); "
            "it accepts T, T_train, cache_dir, download, resize, split_by, translate",
        ),
        (
            ["data.options.download=true"],
            "unknown config key 'data.options.download': dataset 'digits' has no "
            "option(s) ['download']; it accepts none",
        ),
    ],
)
def test_bad_dataset_options(overrides, line):
    assert error_of(overrides) == line


def test_unknown_names_suggest_the_closest():
    assert error_of(["model.name=vgg9_bnt"]).startswith(
        "config key 'model.name': unknown model 'vgg9_bnt'; did you mean 'vgg9_bntt'"
    )
    assert error_of(["data.name=digitz"]).startswith(
        "config key 'data.name': unknown dataset 'digitz'; did you mean 'digits'?"
    )


def test_yaml_errors_name_line_and_column(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {name: bntt_convnet}\ntrain:\n  epochs: 3\n   seed: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == f"{p}, line 4, column 8: not valid YAML: mapping values are not allowed here"
    p.write_text("model: {name: bntt_convnet}\ntrain:\n  epochs: 3\n  epochs: 4\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == f"{p}, line 4, column 3: not valid YAML: duplicate key 'epochs'"


def test_empty_section_means_defaults(tmp_path):
    p = tmp_path / "c.yaml"
    from fullspike.train.config import TrainConfig

    p.write_text("model: {name: bntt_convnet}\ntrain:\n")
    assert load_config(p).train == TrainConfig()


def test_assignment_is_validated_and_to_dict_round_trips():
    import json

    from fullspike.train import config_from_dict

    cfg = load_config(CONFIGS[0].parent / "dst_7bnet_dvsgesture.yaml")
    assert config_from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    cfg.train.epochs = 3
    assert cfg.train.epochs == 3
    with pytest.raises(ConfigError, match=r"^config key 'train.epochs' must be an integer >= 1, got 0$"):
        cfg.train.epochs = 0


@pytest.mark.parametrize(
    "overrides,line",
    [
        (
            ["model.name=sew_resnet18", "model.neuron=lifx"],
            "config key 'model.neuron': unknown neuron 'lifx'; did you mean 'lif', 'plif', 'if'? choose one "
            "of if, lif, plif",
        ),
        (
            ["model.name=sew_resnet18", "model.connect=foo"],
            "config key 'model.connect': unknown connect function 'foo'; choose one of add, and, iand, or, xor",
        ),
        (
            ["model.name=sew_resnet18", "model.stem=cifarr"],
            "config key 'model.stem' must be one of 'imagenet' or 'cifar', got 'cifarr' (did you mean 'cifar'?)",
        ),
        (
            ["model.norm=bnt"],
            "config key 'model.norm': unknown norm 'bnt'; did you mean 'bntt', 'bn'? choose one of bn, bntt, none",
        ),
        (
            ["model.name=sew_7bnet", "model.neuron={name: if, tau: 2.0}"],  # refused, not dropped
            "unknown config key 'model.neuron.tau': neuron 'if' has no argument(s) ['tau']; it accepts "
            "backend, checkpoint, "
            "detach_reset, strict, surrogate, v_reset, v_threshold",
        ),
        (
            ["model.name=spiking_resnet18", "model.connect=iand"],  # each variant has its own signature
            "unknown config key 'model.connect': model 'spiking_resnet18' has no argument(s) ['connect']; "
            "it accepts T, "
            "in_channels, neuron, num_classes, stem, surrogate, width, zero_init_residual",
        ),
        # found by building the model on the meta device
        (
            ["model.name=dst_resnet18", "model.connect=add"],
            "config key 'model': dst_resnet18 cannot be built with these arguments: dual-stream (dst_*) models need a "
            "full-spike connect function ['and', 'iand', 'or', 'xor']; 'add' makes block outputs non-binary "
            "(use the sew_* "
            "model for ADD)",
        ),
        (
            ["model.name=spikformer_4_384", "model.heads=5"],
            "config key 'model': spikformer_4_384 cannot be built with these arguments: dim=384 is not "
            "divisible by heads=5",
        ),
        (
            ["model.image_size=2"],
            "config key 'model': bntt_convnet cannot be built with these arguments: image_size=2 is too "
            "small for 2 poolings",
        ),
    ],
)
def test_model_errors_surface_when_the_config_is_read_before_any_data(overrides, line, tmp_path, monkeypatch):
    import fullspike.data.registry as data_registry

    def no_data(*args, **kwargs):
        raise AssertionError("a dataset was built")

    monkeypatch.setattr(data_registry, "build_dataset", no_data)
    assert error_of(overrides + ["data.name=cifar10", f"data.root={tmp_path / 'nowhere'}"]) == line


def test_the_dry_build_leaves_the_random_generators_alone():
    import torch

    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    load_config(None, ["model.name=dst_resnet18"])
    assert torch.equal(torch.rand(4), expected)


def test_resnet_variants_carry_the_typed_signature_of_the_class():
    import inspect

    from fullspike.models import create_model, model_factory

    params = inspect.signature(model_factory("dst_resnet34")).parameters
    assert params["connect"].default == "iand" and params["stem"].default == "imagenet"
    assert inspect.signature(model_factory("sew_resnet34")).parameters["connect"].default == "add"
    assert "connect" not in inspect.signature(model_factory("spiking_resnet34")).parameters
    model = create_model("sew_resnet34", num_classes=7, T=2.0, stem="cifar", width=8)
    assert (model.depth, model.connect_name, model.T, model.fc.out_features) == (34, "add", 2, 7)
    with pytest.raises(ConfigError, match=r"^model 'dst_resnet50': argument 'width' must be an integer >= 1, got 0$"):
        create_model("dst_resnet50", width=0)
    with pytest.raises(ConfigError, match=r"has no argument\(s\) \['connect'\]"):
        model_factory("spiking_resnet18")(connect="add")  # the factory itself checks, not only create_model


def test_optimiser_arguments_are_validated_on_assignment_and_a_refused_value_changes_nothing():
    cfg = load_config(None)
    cfg.optim.lr = 0.2
    with pytest.raises(ConfigError, match=r"^config key 'optim.lr' must be a number > 0, got -1$"):
        cfg.optim.lr = -1
    with pytest.raises(ConfigError, match=r"^unknown config key 'optim.momentm'"):
        cfg.optim.momentm = 0.1
    assert cfg.optim.arguments == {"lr": 0.2, "momentum": 0.9, "weight_decay": 1e-4, "nesterov": False}


def test_configs_stored_by_earlier_versions_still_load():
    """Checkpoints and zoo cards hold every optim/schedule key of the earlier all-keys sections."""
    stored = {
        "model": {"name": "bntt_convnet", "T": 2},
        "optim": {
            "name": "adam",
            "lr": 0.01,
            "momentum": 0.9,
            "weight_decay": 0.0,
            "nesterov": False,
            "betas": [0.8, 0.9],
        },
        "schedule": {
            "name": "cosine",
            "milestones": [0.5],
            "gamma": 0.1,
            "step_epochs": 30,
            "warmup_epochs": 2,
            "min_lr": 0.001,
        },
    }
    from fullspike.train import config_from_dict

    cfg = config_from_dict(stored)
    assert cfg.optim.arguments == {"lr": 0.01, "weight_decay": 0.0, "betas": (0.8, 0.9)}
    assert cfg.schedule.arguments == {"min_lr": 0.001} and cfg.schedule.warmup_epochs == 2
    del stored["optim"]["betas"]  # not the stored form: every key is checked
    with pytest.raises(ConfigError, match="optimizer 'adam' has no argument"):
        config_from_dict(stored)
