"""The simulation engine. It never imports Textual or Rich (checked by a test)."""

from kvtui.sim.errors import CommandError, KvError, ParseError, ScriptError
from kvtui.sim.events import RouterEvent, router_view
from kvtui.sim.manager import KvManager, MoveResult, PrefillCost
from kvtui.sim.moves import Deref, Move, Partial, Promote, Use

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
