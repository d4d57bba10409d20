"""Tab-completion words, taken from a snapshot: block ids and labels, partials, requests, forms."""

from __future__ import annotations

from kvtui.lang.commands import EXPECT_FORMS
from kvtui.lang.request_parse import REQUEST_EXPECTS
from kvtui.session.labels import short
from kvtui.tui.model import Snapshot

MAX_BLOCKS = 5000  # most recent blocks offered (a 100k-slot pool still completes quickly)


def completion_words(snap: Snapshot) -> dict[str, list[str]]:
    """'blocks' (ids, #labels, ~partials), 'requests' (names) and 'expect' (form names)."""
    blocks = list(snap.blocks)[-MAX_BLOCKS:]
    words = [short(b) for b in reversed(blocks)]
    words += [f"~{ref}" for ref in snap.owner.values() if isinstance(ref, str)]
    requests = [row.name for row in snap.story.requests] if snap.story is not None else []
    return {
        "blocks": words,
        "requests": requests,
        "expect": [f"{form} " for form in (*EXPECT_FORMS, *REQUEST_EXPECTS)],
    }
