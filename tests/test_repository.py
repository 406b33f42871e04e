"""The repository's own promises: quick start, CI, packaging files, logo, changelog."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^[A-Za-z0-9_.\-\[\]]+==[0-9][^\s;]*$")


def fenced_blocks_after(heading: str, text: str) -> list[str]:
    section = text.split(heading, 1)[1]
    return re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.DOTALL)


def test_quick_start_is_two_commands_setup_then_tests():
    readme = (ROOT / "README.md").read_text()
    first = fenced_blocks_after("### Quick start", readme)[0]
    commands = [line for line in first.splitlines() if line.strip()]
    assert commands == ["./scripts/setup", "./scripts/test"]


def test_ci_runs_the_readme_commands():
    ci = [
        line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ci[-2:] == ["./scripts/setup", "./scripts/test"]


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_requirements_are_pinned_exactly(name):
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-r ") or line == "./sailor":
            continue
        assert PINNED.match(line), f"{name}: not pinned exactly: {line}"


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


def test_changelog_top_entry_matches_component_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    entry = r"^## (\d+\.\d+\.\d+) \(([A-Z][a-z]+ \d{1,2}, \d{4})\)$"
    first = re.search(entry, changelog, re.MULTILINE)
    assert first, "CHANGELOG entries look like '## 1.0.0 (Month DD, YYYY)'"
    assert changelog.lstrip().startswith(first.group(0)), "newest entry first"
    version = json.loads((ROOT / "component.json").read_text())["version"]
    assert first.group(1) == version


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
