"""Component root, ``component.json``, function resolution and module loading
(docs/protocol.md#component-layout).

A trigger's or action's ``main`` is a ``.py`` file relative to the component root. The
root is put first on ``sys.path`` so that the component's own packages (``lib.…``)
import normally; a file whose path is a valid dotted name is imported under that name
(``./lib/actions/chat.py`` → ``lib.actions.chat``), so relative imports work too.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import SailorException

VERIFIER_FILE = "verifyCredentials.py"
VERIFIER_FUNCTIONS = ("verify", "verifyCredentials")


class ComponentLoadError(SailorException):
    """The component cannot be used as configured; the message is the platform's text.

    When loading a file failed, the error is published under the name of the error the
    loader raised (``SyntaxError``, ``ModuleNotFoundError``, ``FileNotFoundError``…), as
    Node's sailor does, while the message says which file failed.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.error_name = type(cause).__name__ if cause is not None else None


def component_root(cwd: str | Path, component_path: str | None) -> Path:
    """``cwd`` joined with ``COMPONENT_PATH`` as a relative path, even when it starts with
    ``/`` (Node concatenates; ``Path.joinpath`` would not)."""
    relative = (component_path or "").lstrip("/\\")
    return Path(cwd) / relative if relative else Path(cwd)


class ComponentLoader:
    """Reads ``component.json`` once and loads the modules of its triggers and actions."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self._component_json: dict[str, Any] | None = None

    @property
    def component_json(self) -> dict[str, Any]:
        if self._component_json is None:
            path = self.root / "component.json"
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ComponentLoadError(f"Failed to load component.json from {self.root}") from exc
            if not isinstance(loaded, dict):
                raise ComponentLoadError(f"Failed to load component.json from {self.root}")
            self._component_json = loaded
        return self._component_json

    def definition(self, name: str) -> dict[str, Any]:
        """The trigger or action called ``name`` (triggers are looked up first)."""
        for section in ("triggers", "actions"):
            entries = self.component_json.get(section) or {}
            definition = entries.get(name) if isinstance(entries, dict) else None
            if isinstance(definition, dict):
                return definition
        raise ComponentLoadError(f'Trigger or action "{name}" is not found in component.json!')

    def load_module(self, name: str) -> ModuleType:
        """The module of the trigger's or action's ``main`` file."""
        main = self.definition(name).get("main")
        if not isinstance(main, str) or not main:
            raise ComponentLoadError(
                f"Failed to load file '{main}': trigger or action \"{name}\" has no main"
            )
        path = (self.root / main).resolve()
        if not path.is_file():
            try:
                path.read_bytes()  # fails as loading the module would (no file, a folder)
            except OSError as exc:
                raise ComponentLoadError(
                    f"Failed to load file '{main}': Cannot find module '{path}'", cause=exc
                ) from exc
        try:
            return self._import(path)
        except Exception as exc:
            raise ComponentLoadError(
                f"Trigger or action '{name}' is found, but can not be loaded. "
                f"Please check if the file '{main}' is correct.",
                cause=exc,
            ) from exc

    def load_verifier(self) -> Callable[..., Any] | None:
        """``verify`` (or ``verifyCredentials``) from ``verifyCredentials.py`` at the root;
        ``None`` when there is no such file. A file that fails to import, or has no such
        function, raises: unlike Node, a broken verifier never verifies silently
        (docs/protocol.md#deviation-broken-verifier)."""
        path = self.root / VERIFIER_FILE
        if not path.is_file():
            return None
        try:
            module = self._import(path.resolve())
        except Exception as exc:
            raise ComponentLoadError(
                f"Failed to load {VERIFIER_FILE}: {type(exc).__name__}: {exc}", cause=exc
            ) from exc
        for function_name in VERIFIER_FUNCTIONS:
            function: object = getattr(module, function_name, None)
            if callable(function):
                return function
        raise ComponentLoadError(f"{VERIFIER_FILE} has no function 'verify'")

    def _import(self, path: Path) -> ModuleType:
        root = str(self.root)
        if root not in sys.path:
            sys.path.insert(0, root)
        relative = path.relative_to(self.root) if path.is_relative_to(self.root) else None
        if relative is not None and relative.suffix == ".py":
            parts = relative.with_suffix("").parts
            if all(part.isidentifier() for part in parts) and self._owns_package(parts[0]):
                return importlib.import_module(".".join(parts))
        return self._exec_file(path)

    def _owns_package(self, top_level: str) -> bool:
        """Whether importing ``top_level`` would find this component's copy: not when a
        module of that name from elsewhere was imported before (e.g. in a test process)."""
        module = sys.modules.get(top_level)
        if module is None:
            return True
        locations = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
        return any(
            location and Path(location).resolve().is_relative_to(self.root)
            for location in locations
        )

    @staticmethod
    def _exec_file(path: Path) -> ModuleType:
        module_name = f"_elasticio_component_{abs(hash(str(path))):x}_{path.stem}"
        existing = sys.modules.get(module_name)
        if existing is not None:
            return existing
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        return module
