"""The simulation engine. It never imports Textual or Rich (checked by a test).

The names below load on first use (PEP 562), so importing one submodule (``kvtui.sim.config``,
``kvtui.sim.errors``) does not load the whole engine: `kvtui --help` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kvtui.sim.errors import CommandError, KvError, ParseError, ScriptError
    from kvtui.sim.events import RouterEvent, router_view
    from kvtui.sim.manager import KvManager, MoveResult, PrefillCost
    from kvtui.sim.moves import Deref, Move, Partial, Promote, Use

_WHERE = {
    "CommandError": "errors",
    "KvError": "errors",
    "ParseError": "errors",
    "ScriptError": "errors",
    "RouterEvent": "events",
    "router_view": "events",
    "KvManager": "manager",
    "MoveResult": "manager",
    "PrefillCost": "manager",
    "Deref": "moves",
    "Move": "moves",
    "Partial": "moves",
    "Promote": "moves",
    "Use": "moves",
}

__all__ = [
    "CommandError",
    "Deref",
    "KvError",
    "KvManager",
    "Move",
    "MoveResult",
    "ParseError",
    "Partial",
    "PrefillCost",
    "Promote",
    "RouterEvent",
    "ScriptError",
    "Use",
    "router_view",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kvtui.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(f"kvtui.sim.{module}"), name)
