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


class RegistryError(FullspikeError, KeyError):
    """An unknown name was asked of a registry (models, datasets, surrogates)."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else ""


class ExportError(FullspikeError, ValueError):
    """A network (or a layer of it) cannot be exported to a deployment format such as NIR."""
