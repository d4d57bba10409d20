"""Messages the widgets post to the app."""

from __future__ import annotations

from textual.message import Message


class BlockSelected(Message):
    """A block (or a slot) was chosen in some view; every view highlights it."""

    def __init__(self, block: int | None, slot: int | None = None) -> None:
        super().__init__()
        self.block = block
        self.slot = slot
