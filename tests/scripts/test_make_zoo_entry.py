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


def test_update_energy_measures_a_card_again_from_the_zoo_it_is_given(load_script, shared_data, tmp_path):
    """The Fashion-MNIST card's energy, spoilt in a copy of the zoo, is measured again with that
    zoo's weights on the class-balanced test selection: exactly what is shipped."""
    import json
    import shutil

    from fullspike.zoo import ZOO_DIR

    zoo = tmp_path / "zoo"
    shutil.copytree(ZOO_DIR, zoo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    cards = json.loads((zoo / "cards.json").read_text())
    shipped = cards["fashion_mnist_bntt_convnet"]["energy"]
    cards["fashion_mnist_bntt_convnet"]["energy"] = {"energy_mj": -1.0}
    (zoo / "cards.json").write_text(json.dumps(cards))
    script = load_script("make_zoo_entry")
    script.main(["--update-energy", "fashion_mnist_bntt_convnet", "--data-root", str(shared_data / "fashion-mnist"),
                 "--zoo", str(zoo)])  # fmt: skip
    again = json.loads((zoo / "cards.json").read_text())["fashion_mnist_bntt_convnet"]["energy"]
    assert again == shipped and again["analysis_set"]["size"] == 256
