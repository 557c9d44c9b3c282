"""How the neuron recurrence runs: the execution engine behind
:func:`fullspike.functional.neuron_sequence` (docs/performance.md, "The optional paths, in one
place").

* :mod:`.spec`: the neuron spec and its fire/reset rule, shared by every backend;
* :mod:`.backends`: the backend names (one :class:`~fullspike.registry.Registry`,
  :data:`BACKENDS`) and ``auto``'s choice;
* :mod:`.driver`: one autograd node per sequence with a hand-written backward through time,
  driving the segment kernels of a backend (charge ``h = decay * v + scale * x + bias``);
* :mod:`.loop` (``"loop"``): the core segment kernels in plain torch ops, any device, dtype and
  surrogate. With ``"eager"`` (the autograd reference in :mod:`fullspike.functional.neuron`)
  the only path that is always there.

The optional paths, each a speed-up of the same arithmetic that ``auto`` takes only where it
runs and that falls back (or, asked for by name, fails with one line saying why):

* :mod:`.native` (``"native"``): C kernels (``native_kernel.c``) compiled once per machine by
  :mod:`.cbuild` into a per-user cache; ``auto``'s choice on CPU for float32. Off:
  ``backend="loop"``.
* :mod:`.norm_input`: the native kernels read a batch norm's input instead of its output inside
  a compact-saving forward (the caller passes the lookup in as ``norm_input_of``). Off:
  ``model.compact_saving = False``.
* :mod:`.inductor` (``"inductor"``): the loop kernels compiled by ``torch.compile``; only when
  named, or on CUDA for a surrogate without a Triton form (not for float64).
* :mod:`.triton_kernels` (``"triton"``): hand-written CUDA kernels computing in float32;
  ``auto``'s choice on CUDA for every dtype but float64 (which runs on ``loop``).
* :mod:`.buffers`: ``[T, ...]`` buffers advised onto huge pages where the kernel allows it.
"""

from .backends import BACKENDS, auto_choice, check_backend, resolve
from .driver import Kernels, run_sequence

__all__ = ["BACKENDS", "auto_choice", "check_backend", "resolve", "Kernels", "run_sequence"]
