"""The sailor as a distribution of its own (``elasticio-sailor-py``).

Its sdist and wheel are built from ``sailor/pyproject.toml`` (the wheel from the sdist, so
the sdist is complete too) and the wheel is installed into a fresh virtual environment
with nothing but its declared dependencies, taken from the wheelhouse of pinned wheels
that ``scripts/setup`` fills: no index is asked, the versions are those of
``requirements.txt``.
"""

from __future__ import annotations

import ast
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from trove_classifiers import classifiers as known_classifiers

ROOT = Path(__file__).resolve().parent.parent.parent
SAILOR = ROOT / "sailor"
PACKAGE = SAILOR / "elasticio_sailor"
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
DIST_NAME = "elasticio-sailor-py"

pytestmark = pytest.mark.timeout(120)


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=90, check=False)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def isolated_env(**extra: str) -> dict[str, str]:
    """This process's environment without pip's settings (no config file, no find-links
    of this machine) and without PYTHONPATH, so that only what is named is used."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON")) and k != "VIRTUAL_ENV"}
    return {**env, "PIP_CONFIG_FILE": os.devnull, **extra}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist, then the wheel from the sdist, from a copy of sailor/ (the tree stays clean)."""
    work = tmp_path_factory.mktemp("sailor-dist")
    source = work / "sailor"
    shutil.copytree(SAILOR, source, ignore=shutil.ignore_patterns(
        "*.egg-info", "build", "dist", "__pycache__"))
    out = work / "dist"
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        cwd=work)
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    [built] = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def sdist(dist) -> Path:
    [built] = dist.glob("*.tar.gz")
    return built


@pytest.fixture(scope="module")
def metadata(wheel) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh environment with the wheel and its dependencies from the wheelhouse only."""
    assert any(WHEELHOUSE.glob("*.whl")), (
        f"no wheelhouse of the pinned dependencies in {WHEELHOUSE}: run ./scripts/setup")
    home = tmp_path_factory.mktemp("sailor-venv") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(home)], cwd=home.parent)
    run([sys.executable, "-m", "pip", "--python", str(home / "bin" / "python"), "install",
         "--quiet", "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)],
        cwd=home.parent, env=isolated_env())
    return home


def in_venv(venv: Path, *command: str) -> str:
    """Run a command of the fresh environment from an empty directory (nothing of the
    repository on sys.path)."""
    elsewhere = venv.parent / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return run([str(venv / "bin" / command[0]), *command[1:]], cwd=elsewhere,
               env=isolated_env())


def declared(metadata: Message) -> set[str]:
    """Every distribution the wheel requires, its extras included."""
    return {canonicalize_name(Requirement(r).name) for r in metadata.get_all("Requires-Dist")}


def imported_top_level_names() -> set[str]:
    """Top-level names of every absolute import in the package, lazy ones included."""
    names = set()
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__", "elasticio_sailor"}


def test_both_commands_answer_help_in_the_fresh_environment(venv):
    for command in (["elasticio-sailor", "--help"],
                    ["python", "-m", "elasticio_sailor", "--help"],
                    ["python", "-m", "elasticio_sailor", "service", "--help"]):
        assert "usage:" in in_venv(venv, *command)
    code = "import elasticio_sailor; print(elasticio_sailor.__file__)"
    location = in_venv(venv, "python", "-c", code)
    assert location.startswith(str(venv)), "the installed wheel, not the repository's tree"


def test_every_module_imports_with_only_the_declared_dependencies(venv):
    modules = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem != "__main__")
    code = ("import importlib, sys; "
            "[importlib.import_module('elasticio_sailor.' + m) for m in sys.argv[1:]]; "
            "print(len(sys.argv) - 1)")
    assert in_venv(venv, "python", "-c", code, *modules).strip() == str(len(modules))


def test_what_the_package_imports_is_what_the_wheel_requires(metadata):
    """Lazy imports count too: a missing dependency would only fail at the first message."""
    providers = packages_distributions()
    imported = set()
    for name in imported_top_level_names():
        assert name in providers, f"elasticio_sailor imports {name}, which no dependency provides"
        imported.update(canonicalize_name(dist) for dist in providers[name])
    assert imported == declared(metadata)


def test_the_components_lock_satisfies_the_declared_dependencies(metadata):
    """The component installs the sailor from ./sailor with --no-deps (scripts/setup, the
    Dockerfile): its lock must hold what the wheel requires, in versions it accepts."""
    text = re.sub(r"\\\n", " ", (ROOT / "requirements.txt").read_text())
    locked = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, flags=re.MULTILINE))
    locked = {canonicalize_name(name): version for name, version in locked.items()}
    for spec in metadata.get_all("Requires-Dist"):
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.txt"
        assert requirement.specifier.contains(locked[name]), f"{spec}: locked {locked[name]}"


def test_wheel_is_typed_licensed_described_and_classified(wheel, sdist, metadata):
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
    assert "elasticio_sailor/py.typed" in files
    sources = {f"elasticio_sailor/{p.name}" for p in PACKAGE.iterdir() if p.is_file()}
    assert {f for f in files if f.startswith("elasticio_sailor/")} == sources
    assert metadata["License-Expression"] == "Apache-2.0"
    [license_file] = [f for f in files if f.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(license_file) == (SAILOR / "LICENSE").read_bytes()
    assert "Apache License" in (SAILOR / "LICENSE").read_text()
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "elasticio_sailor/py.typed"} <= in_sdist
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().strip() == (SAILOR / "README.md").read_text().strip()
    classifiers = metadata.get_all("Classifier")
    assert "Typing :: Typed" in classifiers
    assert set(classifiers) <= known_classifiers, set(classifiers) - known_classifiers
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Summary"]


def test_version_has_one_source(venv, wheel, sdist, metadata):
    """sailor/pyproject.toml's version; the package reads it from the installed metadata."""
    project = tomllib.loads((SAILOR / "pyproject.toml").read_text())["project"]
    source = project["version"]
    assert "version" not in project.get("dynamic", [])
    assert re.fullmatch(r"\d+\.\d+\.\d+", source)
    assert not re.search(r"^__version__ *=", (PACKAGE / "__init__.py").read_text(),
                         flags=re.MULTILINE), "a second copy of the version in the code"
    assert in_venv(venv, "python", "-c", "import elasticio_sailor as s; print(s.__version__)"
                   ).strip() == source
    assert metadata["Version"] == source
    assert f"-{source}-" in wheel.name
    assert sdist.name == f"elasticio_sailor_py-{source}.tar.gz"
    assert in_venv(venv, "elasticio-sailor", "--version").strip() == f"{DIST_NAME} {source}"


def test_type_checkers_use_the_installed_packages_annotations(venv, tmp_path):
    """py.typed at work: mypy, given only the fresh environment, checks calls into it."""
    consumer = tmp_path / "consumer.py"
    consumer.write_text("from elasticio_sailor.messages import new_message\n\n"
                        "new_message(headers=['not', 'a', 'dict'])\n")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-incremental",
         "--python-executable", str(venv / "bin" / "python"), str(consumer)],
        cwd=tmp_path, env=isolated_env(), capture_output=True, text=True, timeout=90,
        check=False)
    assert "py.typed" not in done.stdout, done.stdout
    assert 'Argument "headers" to "new_message" has incompatible type' in done.stdout, done.stdout
    assert done.returncode == 1
