"""Golden payload files in tests/golden/: compare, or rewrite with DIGESTBOT_UPDATE_GOLDEN=1."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"


def assert_golden(name: str, payload: Any) -> None:
    """`payload` equals tests/golden/`name` (written instead when DIGESTBOT_UPDATE_GOLDEN=1)."""
    path = GOLDEN_DIR / name
    if os.environ.get("DIGESTBOT_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"{path} is missing; regenerate with DIGESTBOT_UPDATE_GOLDEN=1"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert payload == expected, f"{name} differs from the golden file"
