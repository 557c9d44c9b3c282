"""Quiet loading of torch's C++ toolchain helpers on machines without a GPU.

``torch.compile`` on CPU (the ``inductor`` neuron backend) loads ``torch.utils.cpp_extension``,
which logs "No CUDA runtime is found, using CUDA_HOME=..." once at import whenever a CUDA
toolkit is installed but no GPU is usable. Nothing fullspike runs on CPU needs CUDA, so that line
is only noise for a CPU user; :func:`import_cpp_extension` imports the module with that one
message filtered out (the filter is removed again; other messages pass).
"""

from __future__ import annotations

import importlib
import logging
import sys

NO_CUDA_RUNTIME = "No CUDA runtime is found"


class _DropNoCudaRuntime(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(NO_CUDA_RUNTIME)


def import_cpp_extension() -> None:
    """Import ``torch.utils.cpp_extension`` without its "No CUDA runtime is found" warning."""
    name = "torch.utils.cpp_extension"
    if name in sys.modules:
        return
    logger = logging.getLogger(name)
    quiet = _DropNoCudaRuntime()
    logger.addFilter(quiet)
    try:
        importlib.import_module(name)
    finally:
        logger.removeFilter(quiet)
