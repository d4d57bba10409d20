"""The in-app help, generated from the parser's own tables and the app's key bindings.

Verbs come from ``kvtui.lang.commands.PARSERS`` (their syntax from ``USAGE``), `expect` forms from
``EXPECT_FORMS`` and ``REQUEST_EXPECTS``, keys from the bindings the app really has: the help
cannot list a command that does not parse or miss one that does.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding

from kvtui.lang.commands import EXPECT_FORMS, PARSERS, USAGE
from kvtui.lang.request_parse import REQUEST_EXPECTS

INTRO = """\
# kvtui help

**Pools.** Every G1 slot is *empty* (reset), *cached* (inactive: registered, refcount 0,
evictable — **not** empty) or *in use* (active: refcount ≥ 1, a partial, or held back for a G2
copy). The red cell is the **next victim**. Underlined cells changed in the last step.

**Ids and labels.** Long ids are shown as labels such as `#f0657c`. Type a label, or the start
of one, wherever an id goes (`deref #f06`); a prefix that fits several blocks is an error that
lists them. `Tab` completes verbs, ids, labels, partials (`~NAME`) and request names.
"""

VIEW_KEYS = (
    ("tab / shift+tab", "move between views (and out of the command line)"),
    ("[ / ]", "previous / next tab of views (Events, Requests; every view on small screens)"),
    ("↑ ↓ ← →, enter", "pool map: move over slots, select one"),
    ("↑ ↓, enter", "lineage tree, eviction queue, event log, timeline, requests: move, select"),
    ("enter (timeline)", "go to that step"),
    ("escape", "leave a view or the command line (arrows step again)"),
    ("ctrl+p", "command palette: open preset, switch backend, save script or SVG, theme"),
)

GLYPHS = (
    ("`#3` on a cached cell", "eviction rank (1 = next victim)"),
    ("`×2` on an active cell", "refcount"),
    ("`·`", "empty (reset) slot"),
    ("`~` / `~NAME`", "a partial block (an unfilled tail block) and its name"),
    ("`⇢`", "slot quarantined: its block is being copied G1→G2"),
    ("`⇠`", "slot reserved for a block arriving G2→G1 (swapin)"),
    ("`@N` in the tree", "a deep block hung higher; N is its real position in the chain"),
    ("`#f0657c`", "short label of a long id (the selection panel shows the full id)"),
    ("`▶` in the event log", "the event mentions the selected block"),
    ("`→N` in the timeline", "what the step returned"),
    ("`●N` `⚠N` `✎` `✓`", "timeline: N events, N warnings, a note, checks attached"),
    ("`✗` (red)", "timeline: the step failed (bad command, failed expect) — message beside it"),
)


def _table(head: tuple[str, str], rows: Iterable[tuple[str, str]]) -> str:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {a.replace('|', chr(92) + '|')} | {b.replace('|', chr(92) + '|')} |" for a, b in rows]
    return "\n".join(lines)


def _code(text: str) -> str:
    return f"`{text}`"


def _key_name(binding: Binding) -> str:
    names = {"right": "→", "left": "←", "question_mark": "?", "colon": ":", "plus": "+",
             "equals_sign": "=", "minus": "-", "space": "space"}
    return " ".join(names.get(k.strip(), k.strip()) for k in binding.key.split(","))


def help_markdown(bindings: Iterable[Binding]) -> str:
    """The whole help text (Markdown) for an app with these bindings."""
    commands = _table(("command", "effect"), ((_code(USAGE[v][0]), USAGE[v][1]) for v in PARSERS))
    forms = [*EXPECT_FORMS.values(), *REQUEST_EXPECTS.values()]
    expects = "\n".join(f"- `{form}`" for form in forms)
    keys = _table(("key", "action"), ((_code(_key_name(b)), b.description or b.action) for b in bindings))
    views = _table(("key", "in the views"), VIEW_KEYS)
    glyphs = _table(("glyph", "meaning"), GLYPHS)
    return "\n\n".join(
        [
            INTRO,
            "## Commands",
            commands,
            "Lineage: in one `use` each id's parent is the previous id; the first one's parent is "
            "`parent=`, else the recorded one, else none. A bad command changes nothing.",
            "## Expect forms",
            expects,
            "## Keys",
            keys,
            views,
            "## Glyphs",
            glyphs,
        ]
    )
