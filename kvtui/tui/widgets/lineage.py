"""The lineage tree: registered blocks (G1, G2, in flight) by parent, updated incrementally.

After a plain step only the blocks the step touched (its moves' blocks, evictions, the head of
the eviction queue before and after) are looked at; other snapshots diff every block.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kvtui.session.labels import short
from kvtui.tui.messages import BlockSelected
from kvtui.tui.model import BlockView, Snapshot

STATE_STYLE = {
    "active": "green3",
    "inactive": "dark_cyan",
    "g2": "medium_purple3",
    "in flight": "dark_orange3",
}


RANKS_SHOWN = 10  # only the next few victims carry their rank, so labels rarely change


def label_key(view: BlockView, victim: bool) -> tuple[object, ...]:
    """What a node's label shows; the label is rebuilt only when this changes."""
    rank = view.rank if view.rank is not None and view.rank <= RANKS_SHOWN and view.tier == "G1" else None
    return (view.state, view.refs, view.tier, rank, victim, view.position > MAX_DEPTH, view.position)


def node_label(view: BlockView, victim: bool) -> Text:
    _, refs, tier, rank, _, flat, position = label_key(view, victim)
    text = Text()
    text.append(short(view.block), style="bold")
    text.append(f" {view.state}", style=STATE_STYLE.get(view.state, ""))
    if refs:
        text.append(f" ×{refs}")
    text.append(f" {tier}", style="dim")
    if rank is not None:
        text.append(f" #{rank}", style="bold red" if victim else "dim")
    if flat:  # hung higher than its depth so long chains stay readable
        text.append(f" @{position}", style="dim italic")
    return text


MAX_DEPTH = 8  # deeper nodes hang at this depth (position in the label), so long chains stay flat
MAX_NODES = 1500  # beyond this the tree shows a "more" line instead of every block


class LineageTree(Tree[int]):
    """Nodes are added, relabelled and removed per snapshot; the tree is never rebuilt whole."""

    DEFAULT_CSS = "LineageTree { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("blocks", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False  # enter selects a block; space folds a node
        self._by_block: dict[int, TreeNode[int]] = {}
        self._keys: dict[int, tuple[object, ...]] = {}
        self._parents: dict[int, int | None] = {}
        self._more: TreeNode[int] | None = None
        self._depth: dict[int, int] = {}
        self._victim: int | None = None

    def show(self, snap: Snapshot) -> None:
        views = snap.blocks
        victim = snap.next_victim
        if snap.touched is None:
            candidates: set[int] | list[int] = list(self._by_block)
        else:
            candidates = set(snap.touched) | {b for b in (self._victim, victim) if b is not None}
        self._victim = victim
        gone = [b for b in candidates if b in self._by_block and (b not in views or self._moved(b, views))]
        orphans: list[int] = []
        for block in gone:
            orphans += self._drop(block)
        for block in candidates:
            node = self._by_block.get(block)
            if node is None:
                continue
            key = label_key(views[block], block == victim)
            if self._keys.get(block) != key:
                node.set_label(node_label(views[block], block == victim))
                self._keys[block] = key
        if snap.touched is None:
            new = [b for b in views if b not in self._by_block]
        else:  # the touched blocks, and those dropped with a subtree that are still registered
            new = [b for b in {*candidates, *orphans} if b in views and b not in self._by_block]
        for block in sorted(new, key=lambda b: (views[b].position, b)):
            if len(self._by_block) >= MAX_NODES:
                break
            if block not in self._by_block:
                self._add(block, views, victim)
        self._show_overflow(len(views) - len(self._by_block))

    def _show_overflow(self, hidden: int) -> None:
        text = Text(f"… {hidden} more blocks not shown", style="dim italic") if hidden > 0 else None
        if text is None and self._more is not None:
            self._more.remove()
            self._more = None
        elif text is not None and self._more is None:
            self._more = self.root.add_leaf(text)
        elif text is not None and self._more is not None:
            self._more.set_label(text)

    def _moved(self, block: int, views: dict[int, BlockView]) -> bool:
        return self._parent_key(block, views) != self._parents.get(block)

    def _parent_key(self, block: int, views: dict[int, BlockView]) -> int | None:
        parent = views[block].parent
        return parent if parent in views else None

    def _add(self, block: int, views: dict[int, BlockView], victim: int | None) -> None:
        parent = self._parent_key(block, views)
        if parent is not None and parent not in self._by_block:
            self._add(parent, views, victim)
        depth = self._depth[parent] + 1 if parent is not None else 0
        under = self._by_block[parent] if parent is not None else self.root
        while depth > MAX_DEPTH and under.parent is not None:
            under, depth = under.parent, depth - 1
        label = node_label(views[block], block == victim)
        node = under.add(label, data=block, expand=True, allow_expand=False)
        if under is not self.root:
            under.allow_expand = True  # only nodes with children show a fold arrow
        self._keys[block] = label_key(views[block], block == victim)
        self._depth[block] = depth
        self._by_block[block] = node
        self._parents[block] = parent

    def _drop(self, block: int) -> list[int]:
        """Remove a node; Textual removes its subtree, so forget those blocks too (returned)."""
        node = self._by_block.get(block)
        if node is None:
            return []
        forgotten: list[int] = []
        self._forget(node, forgotten)
        parent = node.parent
        node.remove()
        if parent is not None and parent is not self.root and not parent.children:
            parent.allow_expand = False
        return forgotten

    def _forget(self, node: TreeNode[int], forgotten: list[int]) -> None:
        for child in node.children:
            self._forget(child, forgotten)
        if node.data is not None:
            forgotten.append(node.data)
            self._by_block.pop(node.data, None)
            self._parents.pop(node.data, None)
            self._keys.pop(node.data, None)
            self._depth.pop(node.data, None)

    def select_block(self, block: int | None) -> None:
        node = self._by_block.get(block) if block is not None else None
        if node is None:
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.move_cursor(node)

    def on_focus(self) -> None:
        if self.cursor_line < 0 and self.root.children:
            self.cursor_line = 0  # the keyboard starts on the first block, so enter selects it

    def on_tree_node_selected(self, event: Tree.NodeSelected[int]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(BlockSelected(event.node.data))
