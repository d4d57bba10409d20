"""Bundled preset scripts, installed with the package so `kvtui run NAME` always works."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
DEFAULT = "tour"


def preset_names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def preset_path(name: str) -> Path | None:
    path = FOLDER / f"{name.removesuffix('.yaml')}.yaml"
    return path if is_file(path) else None


def is_file(path: Path) -> bool:
    """`path.is_file()`, but False for names the system cannot even look up (too long, NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def describe(name: str) -> str:
    """The preset's one-line description (first line of `description`)."""
    import yaml  # here, not at module level: `kvtui --help` and `kvtui trace` need no YAML

    path = preset_path(name)
    if path is None:
        return ""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    text = str(data.get("description", "")).strip()
    return text.splitlines()[0] if text else ""


def resolve(target: str) -> Path | None:
    """A script path if `target` is a file, else the preset of that name, else None."""
    path = Path(target)
    try:
        if path.is_file():
            return path
    except PermissionError:  # a folder without search permission: the loader names the error
        return path
    except (OSError, ValueError):  # a name too long, or with a NUL: no file of that name
        pass
    return preset_path(target)
