"""The engine must stay UI-free: no module under kvtui/engine imports Textual or Rich."""

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "kvtui" / "engine"


def test_engine_sources_import_no_ui_library() -> None:
    offenders = []
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            ui = [n for n in names if n.split(".")[0] in {"textual", "rich"}]
            offenders += [f"{path.name}: {n}" for n in ui]
    assert offenders == []


def test_importing_engine_loads_no_ui_library() -> None:
    code = (
        "import sys, kvtui.engine, kvtui.engine.manager;"
        "print([m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
