"""elastic.io sailor for Python components."""

from __future__ import annotations

from .errors import ShutdownInterrupted

__all__ = ["ShutdownInterrupted", "__version__"]

DISTRIBUTION = "elasticio-sailor-py"


def __getattr__(name: str) -> str:
    """``__version__``, read when asked (importlib.metadata costs tens of milliseconds of
    start-up): the installed distribution's version, whose one source is the ``version``
    of sailor/pyproject.toml."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
