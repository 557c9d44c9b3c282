"""The training tests' tiny run: the embedded default (bundled digits) at a size that trains in
seconds, as config overrides."""

TINY = [
    "model.T=2",
    "model.width=8",
    "model.hidden=32",
    "data.train_subset=256",
    "data.test_subset=128",
    "train.epochs=2",
    "train.tensorboard=false",
]
