"""Error types. Every error a user can cause is one of these, with a one-line message that says
what is wrong and how to fix it; the CLI prints it as a single ``error: ...`` line."""


class SpikeforgeError(Exception):
    """Base class of all user-facing spikeforge errors."""


class ConfigError(SpikeforgeError, ValueError):
    """An unknown or invalid configuration key or value."""


class ShapeError(SpikeforgeError, ValueError):
    """A tensor of the wrong rank, size or time length."""


class DatasetError(SpikeforgeError, FileNotFoundError):
    """Dataset files are missing, incomplete or corrupt."""


class CheckpointError(SpikeforgeError, RuntimeError):
    """A checkpoint is unreadable, corrupt, or belongs to another model."""


class TrainingError(SpikeforgeError, RuntimeError):
    """Training diverged (NaN/inf loss) or cannot continue."""


class RegistryError(SpikeforgeError, KeyError):
    """An unknown name was asked of a registry (models, datasets, surrogates)."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one plain line
        return str(self.args[0]) if self.args else ""
