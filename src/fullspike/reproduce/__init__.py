"""The reproduction study: experiments testing the papers' claims on real data at a chosen scale
(``fullspike reproduce NAME``), their JSON results and plots; REPRODUCTION.md is generated from
them by ``scripts/make_reproduction.py``."""
from .experiments import EXPERIMENTS, SCALES, Experiment, Scale, Variant, experiment_names, get_experiment
from .runner import collect, parse_data_roots, plan, run_experiment, run_status, train_run

__all__ = ["EXPERIMENTS", "SCALES", "Experiment", "Scale", "Variant", "experiment_names", "get_experiment",
           "collect", "parse_data_roots", "plan", "run_experiment", "run_status", "train_run"]
