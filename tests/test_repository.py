"""The repository's own promises: quick start, CI, packaging files, logo, changelog."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import zlib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from lib.version import USER_AGENT

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^[A-Za-z0-9_.\-\[\]]+==[0-9][^\s;]*$")


def fenced_blocks_after(heading: str, text: str) -> list[str]:
    section = text.split(heading, 1)[1]
    return re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.DOTALL)


def test_quick_start_follows_the_description_and_begins_with_setup_then_tests():
    readme = (ROOT / "README.md").read_text()
    sections = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    assert sections[:3] == ["Description", "Quick start", "Credentials"]
    first = fenced_blocks_after("\n## Quick start\n", readme)[0]
    commands = [line for line in first.splitlines() if line.strip()]
    assert commands == ["./scripts/setup", "./scripts/test"]


def test_ci_runs_the_readme_commands():
    ci = [
        line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ci[-2:] == ["./scripts/setup", "./scripts/test"]


HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
LOCKS = {"requirements.txt": "requirements.in", "requirements-dev.txt": "requirements-dev.in"}


def lock_entries(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """A pip-compile lock: canonical name -> (version, hashes); anything else fails."""
    text = (ROOT / name).read_text()
    logical = re.sub(r"\\\n", " ", text)  # continuation lines joined
    entries = {}
    for raw in logical.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        assert PINNED.match(requirement), f"{name}: not pinned exactly: {requirement}"
        assert options, f"{name}: {requirement} has no hash"
        assert all(HASH.match(option) for option in options), f"{name}: {line}"
        package, version = requirement.split("==")
        entries[canonicalize_name(package)] = (version, frozenset(options))
    return entries


def in_file_pins(name: str) -> dict[str, str]:
    pins = {}
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith(("-r ", "-c ")):
            assert PINNED.match(line), f"{name}: not pinned exactly: {line}"
            package, version = line.split("==")
            pins[canonicalize_name(package)] = version
    return pins


@pytest.mark.parametrize("lock", list(LOCKS))
def test_locks_pin_every_package_with_the_hashes_of_its_files(lock):
    entries = lock_entries(lock)
    for package, version in in_file_pins(LOCKS[lock]).items():
        assert entries[package][0] == version, f"{lock} is stale for {package}: ./scripts/lock"


def test_the_dev_lock_holds_the_runtime_lock_unchanged():
    runtime, dev = lock_entries("requirements.txt"), lock_entries("requirements-dev.txt")
    assert {package: dev.get(package) for package in runtime} == runtime


def test_setup_and_the_image_install_only_hashed_locks():
    setup = (ROOT / "scripts/setup").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line.strip() for text in (setup, dockerfile)
                for line in re.sub(r"\\\n\s*", " ", text).splitlines()
                if re.search(r"\bpip(_quietly)? (install|download)\b", line)]
    pip_commands = [part.strip() for line in installs for part in line.split("&&")
                    if re.search(r"\b(install|download)\b", part)]
    assert len(pip_commands) == 5, pip_commands
    for command in pip_commands:
        if "./sailor" in command:
            assert "--no-deps" in command, command
            assert "--no-build-isolation" in command, command
        else:
            assert "--require-hashes" in command, command
            assert re.search(r"-r requirements(-dev)?\.txt\b", command), command


def test_the_base_image_is_pinned_by_tag_and_digest():
    [base] = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base


def read_png(path: Path) -> tuple[int, int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type, *_ = header
    assert (depth, colour_type) == (8, 6), "expected 8-bit RGBA"
    return width, height, colour_type, zlib.decompress(idat)


def test_logo_is_small_transparent_128_png():
    logo = ROOT / "logo.png"
    assert logo.stat().st_size < 10 * 1024
    width, height, _, raw = read_png(logo)
    assert (width, height) == (128, 128)
    stride = 1 + 4 * width
    alphas = [raw[row * stride + 1 + 4 * col + 3] for row in range(height) for col in range(width)]
    assert alphas[0] == 0, "corner must be transparent"
    assert any(a == 255 for a in alphas), "something must be drawn"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def component_version() -> str:
    return json.loads((ROOT / "component.json").read_text())["version"]


def test_changelog_entries_newest_first_and_the_top_release_is_component_json():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## (.*)$", changelog, re.MULTILINE)
    assert changelog.startswith("## "), "no text above the newest entry"
    entries = [re.fullmatch(r"(\d+\.\d+\.\d+) \((unreleased|[A-Z][a-z]+ \d{1,2}, \d{4})\)",
                            heading) for heading in headings]
    assert all(entries), f"entries look like '## 1.0.0 (Month DD, YYYY)': {headings}"
    versions = [version_key(entry.group(1)) for entry in entries]
    assert versions == sorted(set(versions), reverse=True), "newest first, each version once"
    unreleased = [entry.group(2) == "unreleased" for entry in entries]
    assert not any(unreleased[1:]), "only the newest entry may be unreleased"
    [released, *_] = [entry.group(1) for entry in entries if entry.group(2) != "unreleased"]
    assert released == component_version()


def test_the_component_version_is_written_in_component_json_only():
    assert f"elasticio-chatgpt-component-py/{component_version()}" == USER_AGENT
    written = [f"{path.relative_to(ROOT)}: {line.strip()}"
               for path in [*sorted((ROOT / "lib").rglob("*.py")), ROOT / "verifyCredentials.py"]
               for line in path.read_text().splitlines()
               if re.search(r"component-py/\d|\bVERSION\s*=\s*[\"']\d", line)]
    assert written == []


def test_the_readme_says_what_each_version_means_without_repeating_one():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Versions\n", 1)[1].split("\n## ", 1)[0]
    for place in ("`component.json`", "`CHANGELOG.md`", "User-Agent", "`sailor/pyproject.toml`",
                  "--version", "Node sailor 2.7.8"):
        assert place in section, place
    sailor = tomllib.loads((ROOT / "sailor/pyproject.toml").read_text())["project"]["version"]
    for current in (component_version(), sailor):
        assert current not in section, f"{current} would go stale here: name its file instead"


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_files_that_exist():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies a missing path: {source}"


def dockerfile_cmd() -> list[str]:
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    return json.loads(cmd.group(1))


@pytest.mark.parametrize("mode", ["run", "service"])
def test_dockerfile_entry_points_start(mode):
    """The image's task-mode command, and the service-mode one the platform derives from it."""
    python, *args = dockerfile_cmd()
    assert python == "python"
    assert args[-1] == "run"
    result = subprocess.run([sys.executable, *args[:-1], mode, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    paths = [ROOT / name for name in listed if name]
    return [p for p in paths if p.suffix in {".py", ".md", ".txt", ".toml", ".json", ".yaml",
                                             ".cfg", ""} and p.is_file()]


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub derives from headings: lower case, punctuation dropped, blanks → -."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


DOC_REFERENCE = re.compile(r"\bdocs/([\w\-]+\.md)(?:#([\w\-]+))?")
LOCAL_LINK = re.compile(r"\]\((?:([\w\-]+\.md))?#([\w\-]+)\)")


def test_every_docs_reference_names_an_existing_section():
    """Code, tests and docs point at docs/*.md#section; each of those must exist."""
    anchors = {p.name: heading_anchors(p.read_text()) for p in (ROOT / "docs").glob("*.md")}
    broken = []
    for path in tracked_text_files():
        text = path.read_text(errors="replace")
        found = [(m.group(1), m.group(2)) for m in DOC_REFERENCE.finditer(text)]
        if path.parent == ROOT / "docs":
            found += [(m.group(1) or path.name, m.group(2)) for m in LOCAL_LINK.finditer(text)]
        for name, anchor in found:
            if name not in anchors or (anchor and anchor not in anchors[name]):
                broken.append(f"{path.relative_to(ROOT)}: docs/{name}#{anchor}")
    assert broken == []


OUTSIDE_REFERENCES = re.compile(
    "|".join([r"\u00a7", r"shared/" + "specs", r"\.\./" + "shared", "check" + "list",
              r"\bcaptured? [A-Z]\d*\b", r"sailor-" + r"protocol\.md", r"openai-" + r"contract",
              r"reference-" + "captures", "/wo" + "rk/"]),
    flags=re.IGNORECASE)


def test_no_reference_points_outside_the_repository():
    """No section numbers or scenario letters of documents that a clone does not have."""
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in tracked_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE_REFERENCES.search(line)
    ]
    assert hits == []


ARCHITECTURE = ROOT / "docs" / "architecture.md"
TREE_NAME = re.compile(r"^( *)([\w.\-]+/?)(?:  |$)")
PATH_ROOTS = ("lib/", "tests/", "schemas/", "docs/", "sailor/", "examples/")


def tree_paths(markdown: str) -> list[str]:
    """The paths the first fenced block draws: a name per line, two spaces per level;
    lines indented further (continued descriptions) are skipped."""
    block = re.search(r"```\n(.*?)```", markdown, flags=re.DOTALL).group(1)
    parents: list[str] = []
    paths = []
    for line in block.splitlines():
        match = TREE_NAME.match(line)
        if not match or len(match.group(1)) > 8:
            continue
        depth = len(match.group(1)) // 2
        parents = parents[:depth]
        name = match.group(2)
        paths.append("".join(parents) + name)
        if name.endswith("/"):
            parents.append(name)
    return paths


def test_the_architecture_names_only_paths_that_exist():
    """Every file and package docs/architecture.md draws or names exists, and every
    dotted name it gives (``lib.step.start``) can be imported."""
    text = ARCHITECTURE.read_text()
    paths = tree_paths(text)
    assert "lib/openai/client.py" in paths
    assert "lib/chat/compatible_servers.py" in paths
    named = [token for token in re.findall(r"`([^`\s]+)`", text)
             if token.startswith(PATH_ROOTS) and "<" not in token]
    missing = [path for path in paths + named if not (ROOT / path).exists()]
    assert missing == []
    for dotted in re.findall(r"`(lib(?:\.\w+)+)", text):
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module_path = ROOT.joinpath(*parts[:cut])
            if module_path.with_suffix(".py").exists() or module_path.is_dir():
                break
        module = importlib.import_module(".".join(parts[:cut]))
        target: object = module
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
