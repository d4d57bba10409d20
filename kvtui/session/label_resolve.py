"""Typed `#hex` labels become full block ids before a command is parsed.

The UI shows long ids as labels (``#f0657c``, kvtui.session.labels.short). A user may type a label,
or any prefix of one, wherever an id goes (``deref #f06``, ``use 5 parent=#f0657c``,
``expect active #f0657c:1``): it is replaced by the one known block whose label starts with it.
Known blocks are those the World has seen (the manager's recorded lineage, which covers G1, G2 and
in-flight blocks) plus the blocks requests will use. A prefix shared by several blocks is an error
listing them; the parser itself stays pure and never sees a label. Resolution is done only for
typed text (a script names full ids), at O(known blocks) per typed command.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kvtui.session.labels import SHORT_LIMIT, short
from kvtui.sim.errors import ParseError
from kvtui.workload.world import World

_LABEL = re.compile(r"#([0-9a-fA-F]{1,6})\b")
CANDIDATES_SHOWN = 8


def known_blocks(world: World) -> Iterable[int]:
    """Every block id a label may name: recorded lineage and request sequences."""
    yield from world.manager.lineage
    for req in world.requests.requests.values():
        yield from (b for b in req.seq.unique_blocks if isinstance(b, int))


def labelled(world: World) -> dict[int, str]:
    """Block id → label for every known long id (short ids are typed as themselves)."""
    return {b: short(b) for b in dict.fromkeys(known_blocks(world)) if b >= SHORT_LIMIT}


def resolve_labels(text: str, world: World) -> str:
    """`text` with each `#hex` label replaced by its block id; ParseError when none or several match."""
    if "#" not in text or text.split(None, 1)[:1] == ["req"]:  # req text "..." is free text
        return text
    labels: dict[int, str] | None = None
    out: list[str] = []
    last = 0
    for match in _LABEL.finditer(text):
        if labels is None:
            labels = labelled(world)
        prefix = "#" + match.group(1).lower()
        found = [b for b, label in labels.items() if label.startswith(prefix)]
        column = match.start() + 1
        if not found:
            message = f"no known block has a label starting with '{prefix}' at column {column}"
            raise ParseError(message, column)
        if len(found) > 1:
            shown = ", ".join(f"{labels[b]}={b}" for b in found[:CANDIDATES_SHOWN])
            more = f" and {len(found) - CANDIDATES_SHOWN} more" if len(found) > CANDIDATES_SHOWN else ""
            raise ParseError(
                f"label '{prefix}' matches {len(found)} blocks ({shown}{more}); type more of it "
                f"at column {column}",
                column,
            )
        out += [text[last : match.start()], str(found[0])]
        last = match.end()
    out.append(text[last:])
    return "".join(out)
