"""The reproduction study of the papers' claims (docs/methods.md): each experiment is a set of
training runs generated from the package's YAML configs (fullspike/configs/) with overrides, at a scale:

- ``smoke``: minutes on the bundled digits (for tests; says nothing about the claims),
- ``cpu``: what one CPU core affords within about an hour per run (the settings are reduced, the
  reason stated in ``Scale.note``),
- ``paper``: the paper's setting (needs a GPU).

A run is one (variant, seed). A variant with ``home`` is the same run as that experiment's
variant of the same name (early exit and robustness analyse the BNTT network of ``bntt_norms``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ..errors import ConfigError
from ..registry import Registry

SCALES = ("smoke", "cpu", "paper")


@dataclass(frozen=True)
class Variant:
    """One network/setting of an experiment: ``config`` (a file of fullspike/configs/) plus ``overrides``.
    ``x`` and ``series`` place it in plots (e.g. depth and family); ``home``: see the module doc;
    ``control``: an ablation reported beside the claim's variants, not judged with them."""
    name: str
    label: str
    config: str
    overrides: tuple[str, ...] = ()
    x: float | None = None
    series: str | None = None
    home: str | None = None
    control: bool = False


@dataclass(frozen=True)
class Scale:
    """Overrides applied to every run of the experiment (after the variant's, so a scale can swap
    the data set, e.g. to the bundled digits for ``smoke``), the seeds, how many
    test samples the energy count and analyses use, and why the setting differs from the paper."""
    overrides: tuple[str, ...]
    seeds: tuple[int, ...]
    note: str
    samples: int = 256
    uses_data: bool = True  # False: the data come with the package (digits), no --data-root needed


@dataclass(frozen=True)
class Experiment:
    """A claim of a paper and the runs that test it."""
    name: str
    number: int  # item of the study (issue order)
    title: str
    claim: str  # the paper's statement, with its number
    dataset: str  # key of --data-root
    variants: tuple[Variant, ...]
    scales: dict[str, Scale]
    select_on_val: bool = False  # report the variant with the best mean validation accuracy
    target: float | None = None  # test accuracy (0..1) the claim asks for
    analysis: str | None = None  # per-run analysis: "early_exit", "robustness" or "time_statistics"
    x_label: str = ""  # what the variants' ``x`` is (plots against it)
    notes: tuple[str, ...] = field(default_factory=tuple)  # caveats printed under the results

    def scale(self, name: str) -> Scale:
        if name not in self.scales:
            raise ConfigError(f"experiment '{self.name}' has no scale '{name}'; it has {', '.join(self.scales)}")
        return self.scales[name]


EXPERIMENTS: Registry[Experiment] = Registry("experiment")

_DIGITS = ("data.name=digits", "data.root=null", "data.options={}", "data.augment=false", "data.batch_size=64",
           "data.eval_batch_size=null", "data.val_fraction=0.2", "data.train_subset=300", "data.test_subset=100",
           "data.num_workers=0", "train.epochs=2", "train.tensorboard=false", "train.device=cpu", "train.amp=false")
_SMOKE_NOTE = "bundled digits, 2 epochs: tests the machinery, says nothing about the claim"
_RUN = ("train.progress=false",)


_POOL_NOTE = ("Energy: BNTT networks average-pool spikes, so the layer after each pooling reads fractions "
              "(k/4) and its operations count as MACs by the counter's value rule (docs/energy.md), as do "
              "those of a first layer fed with analogue inputs or event counts; AC / MAC here is what "
              "these networks compute, not a full-spike network's.")


def _register(exp: Experiment) -> Experiment:
    EXPERIMENTS.register(exp.name)(exp)
    return exp


# ---------------------------------------------------------------------------------------- 1
_VGG9_CPU = ("model.width=16", "model.hidden=256", "data.batch_size=64", "data.num_workers=0",
             "data.train_subset=10000", "data.val_fraction=0.05", "data.eval_batch_size=256", "optim.lr=0.1",
             "train.epochs=3", "train.amp=false") + _RUN
_VGG9_PAPER = ("data.val_fraction=0.05",) + _RUN
_VGG9_CPU_NOTE = ("VGG9 at a quarter width (16..64 channels, FC 256), T = 10 (paper 25), 10,000 training images "
                  "(paper 50,000), 3 epochs (paper 120), lr 0.1, batch 64: about 15 min of one CPU core per "
                  "run (0.028 CPU-s per training image measured); the paper's training is ~8,000x that "
                  "compute (200x the image passes, 2.5x T, 16x the FLOPs of a quarter width)")
_VGG9_T_NOTE = ("VGG9 at a quarter width (16..64 channels, FC 256), T = 4, 10 and the paper's 25, "
                "10,000 training images (paper 50,000), 3 epochs (paper 120), lr 0.1, batch 64: about 15 "
                "min of one CPU core per run at T = 10 (0.028 CPU-s per training image measured), in "
                "proportion to T otherwise; the paper's training is ~8,000x the compute of a T = 10 run "
                "(200x the image passes, 2.5x T, 16x the FLOPs of a quarter width)")
_NORMS = (("bntt", "BNTT"), ("bn", "one shared BN"), ("none", "no normalisation"))


def _norm_variant(norm: str, label: str, T: int, home: str | None = None) -> Variant:
    """The BNTT VGG9 with normalisation ``norm`` at ``T`` steps (named after the norm alone at
    T = 10, ``<norm>_t<T>`` otherwise)."""
    return Variant(norm if T == 10 else f"{norm}_t{T}", f"{label}, T={T}", "bntt_vgg9_cifar10.yaml",
                   (f"model.norm={norm}", f"model.T={T}"), x=T, series=label, home=home)


_BNTT_VARIANTS = tuple(_norm_variant(n, label, T) for T in (10, 25, 4) for n, label in _NORMS)
_register(Experiment(
    "bntt_norms", 1, "BNTT vs one shared BN vs no normalisation (VGG9, CIFAR-10, rate coding)",
    "BNTT (one BN per time step) is what lets a deep VGG SNN with rate coding train at low latency: "
    "VGG9 on CIFAR-10 reaches 90.5% at T = 25, where conventional BN or no normalisation fail to "
    "train well (Kim & Panda 2021).",
    "cifar10", _BNTT_VARIANTS,
    {"smoke": Scale(_DIGITS + ("model.width=8", "model.hidden=32", "model.image_size=8",
                               "model.in_channels=1"), (0, 1), _SMOKE_NOTE, 32, False),
     "cpu": Scale(_VGG9_CPU, (0, 1), _VGG9_T_NOTE),
     "paper": Scale(_VGG9_PAPER, (0, 1), "the paper's setting (GPU; T = 4 and 10 beside the paper's 25)", 1000)},
    analysis="time_statistics", x_label="time steps T",
    notes=(_POOL_NOTE, "time_statistics.png: for each step, how far the trained BNTT layers' running means "
                       "and spreads lie from the statistics pooled over all steps, which is what one shared BN "
                       "normalises with; where the shift is near 0 and the spread ratio near 1, a shared BN "
                       "normalises that step as BNTT does, and only BNTT's per-step gamma_t sets the two apart.")))

# ---------------------------------------------------------------------------------------- 2
_register(Experiment(
    "early_exit", 2, "Early exit from the BNTT scales (the BNTT VGG9 of experiment 1)",
    "The learnt BNTT scales gamma_t fall towards 0 at late steps; exiting at the step where their "
    "mean falls below a threshold keeps the accuracy while saving latency and energy (Kim & Panda "
    "2021, CIFAR-10 VGG9: 90.3% exiting at T = 20 against 90.5% at T = 25; docs/methods.md).",
    "cifar10", tuple(_norm_variant("bntt", "BNTT", T, home="bntt_norms") for T in (10, 25)),
    {"smoke": Scale((), (0,), _SMOKE_NOTE, 32, False), "cpu": Scale((), (0, 1), _VGG9_T_NOTE),
     "paper": Scale((), (0, 1), "the paper's setting (GPU)", 1000)},
    analysis="early_exit"))

# ---------------------------------------------------------------------------------------- 3
_ANN = Variant("ann", "ANN twin (ReLU, BN)", "bntt_vgg9_cifar10.yaml", ("model={name: vgg9_ann}",))
_register(Experiment(
    "robustness", 3, "Robustness of the BNTT VGG9 vs its ANN twin (noise, FGSM, PGD)",
    "BNTT SNNs are more robust than ANNs of the same architecture to Gaussian input noise and to "
    "FGSM/PGD attacks computed through the SNN's surrogate gradient (Kim & Panda 2021; docs/methods.md). "
    "Caveat: the surrogate gradient an attack uses is not the "
    "network's true gradient (gradient obfuscation), so higher accuracy under white-box attacks "
    "is an upper bound on robustness.",
    "cifar10", (Variant("bntt", "BNTT SNN", "bntt_vgg9_cifar10.yaml", home="bntt_norms"), _ANN),
    {"smoke": Scale(_DIGITS + ("model.width=8", "model.hidden=32", "model.image_size=8", "model.in_channels=1"),
                    (0,), _SMOKE_NOTE, 32, False),
     "cpu": Scale(_VGG9_CPU, (0, 1), _VGG9_CPU_NOTE),
     "paper": Scale(_VGG9_PAPER, (0, 1), "the paper's setting (GPU)", 1000)},
    analysis="robustness"))

# ---------------------------------------------------------------------------------------- 4
_FAMILIES = (("spiking", "Spiking ResNet"), ("sew", "SEW ResNet (ADD)"), ("dst", "DST (IAND + AAP)"))


_NETS = {"spiking": "plain Spiking ResNet-{} (SN after the addition)", "sew": "SEW ResNet-{} (ADD)",
         "dst": "DST ResNet-{} (IAND + AAP)"}


def _resnet(family: str, label: str, depth: int) -> Variant:
    config = f"{family}_resnet{min(depth, 34)}_cifar10.yaml"  # deeper: the 34 config, another model
    deeper = (f"model.name={family}_resnet{depth}", f"name={family}_resnet{depth}_cifar10",
              f"description={_NETS[family].format(depth)} on CIFAR-10 (the "
              f"{family}_resnet34_cifar10 config with model.name={family}_resnet{depth})")
    return Variant(f"{family}{depth}", f"{label}-{depth}", config, deeper if depth > 34 else (),
                   x=depth, series=label)


def _dst_control(depth: int) -> Variant:
    """The DST net of ``depth`` with each residual branch's last BN at its default scale 1 instead
    of 0: tests whether the zero-initialised branches that stay silent at the cpu budget are why
    the FSNN does not gain with depth there."""
    return Variant(f"dst{depth}_no_zero_init", f"DST (IAND + AAP)-{depth}, no zero-init (control)",
                   f"dst_resnet{depth}_cifar10.yaml",
                   ("model.zero_init_residual=false", f"description=DST ResNet-{depth} (IAND + AAP) on CIFAR-10, "
                    "last BN of each residual branch not zero-initialised (control of the depth study)"),
                   x=depth, series="DST (IAND + AAP), no zero-init (control)", control=True)


_register(Experiment(
    "dst_depth", 4, "DST depth study: Spiking / SEW / DST ResNets at depths 18, 34, 50 (CIFAR-10)",
    "Full-spike residual nets trained with DST keep gaining accuracy with depth (like SEW ResNets; "
    "plain Spiking ResNets' gradients vanish or explode with depth), while passing only spikes "
    "(FSNN: MACs only in the stem and classifier) at a fraction of SEW's energy (Chen et al., DST/AAP; "
    "docs/methods.md, docs/dst.md).",
    "cifar10", tuple(_resnet(f, lab, d) for d in (18, 34, 50) for f, lab in _FAMILIES)
    + tuple(_dst_control(d) for d in (18, 34)),
    {"smoke": Scale(_DIGITS + ("model.width=4", "model.T=2", "model.in_channels=1"), (0,), _SMOKE_NOTE, 16, False),
     "cpu": Scale(("model.width=16", "data.batch_size=64", "data.num_workers=0", "data.train_subset=10000",
                   "data.val_fraction=0.05", "data.eval_batch_size=256", "train.epochs=6", "train.amp=false")
                  + _RUN, (0, 1),
                  "width 16 (the configs' 64), 10,000 training images, 6 epochs (the configs: 200 on all "
                  "50,000): measured on one CPU core with 2-4 runs side by side, 16-25 min per ResNet-18 "
                  "run, 25-30 min per ResNet-34 run and 74-100 min per ResNet-50 run; the curves do not "
                  "flatten at this budget"),
     "paper": Scale(("data.val_fraction=0.05",) + _RUN, (0, 1), "the configs' setting (GPU)", 1000)},
    x_label="depth",
    notes=("Control: the configs zero-initialise the last BN of each residual branch, so every block "
           "starts as the identity; the DST nets at depth 18 and 34 are also trained with "
           "model.zero_init_residual=false (that BN's scale starts at 1), to test whether branches that "
           "are still silent at this budget are why the FSNN does not gain with depth.",)))

# ---------------------------------------------------------------------------------------- 5
_register(Experiment(
    "fashion_mnist", 5, "Fashion-MNIST: a BNTT SNN above the PLIF networks' 94.38%",
    "PLIF spiking networks reach 94.38% test accuracy on Fashion-MNIST (the reference point of "
    "issue 14); target: a BNTT SNN at >= 94.5% within about an hour of CPU.",
    "fashion_mnist",
    (Variant("w32_aug", "BNTT conv net 32-64, FC 256, T=4, crop+flip, 4 epochs", "bntt_fashion_mnist.yaml",
             ("model.width=32", "data.augment=true", "schedule.name=cosine", "train.epochs=4")),
     Variant("w32_aug_e12", "the same, 12 epochs", "bntt_fashion_mnist.yaml",
             ("model.width=32", "data.augment=true", "schedule.name=cosine", "train.epochs=12"))),
    {"smoke": Scale(_DIGITS, (0,), _SMOKE_NOTE, 32, False),
     "cpu": Scale(("data.val_fraction=0.05", "data.eval_batch_size=256") + _RUN, (0,),
                  "the full data set; 4 epochs (18 min of one CPU core, measured: 270 CPU-s per epoch) "
                  "and 12 epochs (about the hour of CPU the claim allows); the reported variant is the "
                  "one with the best accuracy on a 5% validation split"),
     "paper": Scale(("data.val_fraction=0.05", "data.eval_batch_size=256", "train.epochs=30") + _RUN, (0, 1),
                    "30 epochs, two seeds")},
    select_on_val=True, target=0.945, notes=(_POOL_NOTE,)))

# ---------------------------------------------------------------------------------------- 6
_NM = "nmnist_bntt_convnet.yaml"
_register(Experiment(
    "nmnist", 6, "N-MNIST subset (1000 train / 100 test recordings)",
    "Target of issue 14: >= 97% on the 100 test recordings of the N-MNIST subset (full N-MNIST SNNs "
    "reach 99%+; the subset has 1/60 of the training data).",
    "nmnist",
    (Variant("translate2", "translate 2 px, wd 1e-4", _NM,
             ("data.options.translate=2", "optim.weight_decay=1.0e-4", "train.epochs=20")),
     Variant("translate4", "translate 4 px, wd 1e-4", _NM,
             ("data.options.translate=4", "optim.weight_decay=1.0e-4", "train.epochs=20")),
     Variant("translate3_wd5e-4", "translate 3 px, wd 5e-4", _NM,
             ("data.options.translate=3", "optim.weight_decay=5.0e-4", "train.epochs=20")),
     Variant("translate4_wd5e-4_cos40", "translate 4 px, wd 5e-4, cosine, 40 epochs", _NM,
             ("data.options.translate=4", "optim.weight_decay=5.0e-4", "schedule.name=cosine", "train.epochs=40"))),
    {"smoke": Scale(_DIGITS + ("model.in_channels=1", "model.image_size=8"), (0,), _SMOKE_NOTE, 32, False),
     "cpu": Scale(("model.width=32", "model.hidden=256", "data.augment=true", "data.val_fraction=0.1") + _RUN, (0,),
                  "the subset itself; settings chosen on a 10% validation split (100 recordings)"),
     "paper": Scale(("model.width=32", "model.hidden=256", "data.augment=true", "data.val_fraction=0.1",
                     "train.epochs=40") + _RUN, (0, 1, 2), "40 epochs, three seeds")},
    select_on_val=True, target=0.97, notes=(_POOL_NOTE,)))


def get_experiment(name: str) -> Experiment:
    """A registered experiment; unknown names fail with one line listing them."""
    return EXPERIMENTS.get(name)


def experiment_names() -> list[str]:
    return sorted(EXPERIMENTS.names(), key=lambda n: EXPERIMENTS.get(n).number)

