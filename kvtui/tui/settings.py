"""UI settings kept between runs (the theme), in the state directory next to the journals."""

from __future__ import annotations

import json
from pathlib import Path

from kvtui.session.journal import state_dir


def _path() -> Path:
    return state_dir() / "settings.json"


def load_theme() -> str | None:
    try:
        value = json.loads(_path().read_text(encoding="utf-8")).get("theme")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def save_theme(theme: str) -> None:
    """Remember the theme; a settings file that cannot be written is not worth an error."""
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if not isinstance(data, dict):
            data = {}
        data["theme"] = theme
        path.write_text(json.dumps(data), encoding="utf-8")
    except (OSError, ValueError):
        return
