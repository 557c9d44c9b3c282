"""scripts/make_zoo_entry.py writes cards without the training machine's paths."""


def test_the_command_and_config_lose_the_machine_paths(load_script):
    script = load_script("make_zoo_entry")
    cmd = (
        "fullspike reproduce fashion_mnist --scale cpu --out /work/exp/out --data-root /work/exp/data "
        "fashion_mnist=/work/shared/data/fashion-mnist --seeds 0"
    )
    assert script.portable_command(cmd) == (
        "fullspike reproduce fashion_mnist --scale cpu --data-root DATA fashion_mnist=DATA/fashion-mnist --seeds 0"
    )
    config = {"name": "x", "data": {"name": "cifar10", "root": "/work/exp/data/cifar10", "batch_size": 8}}
    assert script.portable_config(config) == {"name": "x", "data": {"name": "cifar10", "root": None, "batch_size": 8}}
    assert config["data"]["root"] == "/work/exp/data/cifar10"  # the run's own config is left as it was
