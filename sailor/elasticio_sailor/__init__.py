"""elastic.io sailor for Python components."""

from elasticio_sailor.errors import ShutdownInterrupted

__all__ = ["ShutdownInterrupted"]
