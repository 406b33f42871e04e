"""elastic.io sailor for Python components."""

from .errors import ShutdownInterrupted

# The one place of the version: pyproject.toml reads it, ``--version`` prints it.
__version__ = "0.1.0"

__all__ = ["ShutdownInterrupted", "__version__"]
