"""How the neuron recurrence runs: the execution engine behind
:func:`fullspike.functional.neuron_sequence` (docs/performance.md).

* :mod:`.backends`: the backend names and ``auto``'s choice;
* :mod:`.driver`: one autograd node per sequence with a hand-written backward through time,
  driving the segment kernels of a backend;
* :mod:`.loop` (``"loop"``), :mod:`.native` (``"native"``, C compiled by :mod:`.cbuild`),
  :mod:`.inductor` (``"inductor"``), :mod:`.triton_kernels` (``"triton"``): the segment kernels.
"""
from .backends import BACKENDS, auto_choice, check_backend, resolve
from .driver import Kernels, run_sequence

__all__ = ["BACKENDS", "auto_choice", "check_backend", "resolve",
           "Kernels", "run_sequence"]
