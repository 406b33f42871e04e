"""The component's version, read from component.json: the one place it is written (the
README's Versions section says what each number of the repository means). Every HTTP
request of the component says it in its User-Agent."""

from __future__ import annotations

import json
from pathlib import Path

COMPONENT_JSON = Path(__file__).resolve().parent.parent / "component.json"
VERSION: str = str(json.loads(COMPONENT_JSON.read_text(encoding="utf-8"))["version"])
USER_AGENT = f"elasticio-chatgpt-component-py/{VERSION}"
