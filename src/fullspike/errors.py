"""Error types. Every error a user can cause is one of these, with a one-line message that says
what is wrong and how to fix it; the CLI prints it as a single ``error: ...`` line."""


class FullspikeError(Exception):
    """Base class of all user-facing fullspike errors."""


class ConfigError(FullspikeError, ValueError):
    """An unknown or invalid configuration key or value."""


class ShapeError(FullspikeError, ValueError):
    """A tensor of the wrong rank, size or time length."""


class DatasetError(FullspikeError, FileNotFoundError):
    """Dataset files are missing, incomplete or corrupt."""


class CheckpointError(FullspikeError, RuntimeError):
    """A checkpoint is unreadable, corrupt, or belongs to another model."""


class TrainingError(FullspikeError, RuntimeError):
    """Training diverged (NaN/inf loss) or cannot continue."""


class RegistryError(ConfigError, KeyError):
    """An unknown name was asked of a registry (models, datasets, surrogates, neurons, ...), or a
    registered factory got arguments it does not take. A configuration error and a lookup error."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else ""


class OutputError(FullspikeError, OSError):
    """An output file or folder cannot be written (missing permission, read-only, full disk)."""


class MissingDependencyError(FullspikeError, ImportError):
    """An optional dependency (a ``pip install 'fullspike[extra]'``) is not installed."""


class ExportError(FullspikeError, ValueError):
    """A network (or a layer of it) cannot be exported to a deployment format such as NIR."""
