"""`lineage` (default): leaves first, oldest leaf first (SPEC §3.1, kvbm_logical.md §3.1).

The inactive index is a forest. A node is *real* (an inactive block) or a *ghost* (a
placeholder with children in the index). Upstream keys a node by (position, fragment), so a
block's key names its parent but not its grandparent. Hence:

* a new node links to its parent's node, creating a ghost parent if needed; such a new ghost
  is **not** linked to its own parent (its key cannot name it);
* a ghost that becomes real links to its parent then;
* a real node that leaves but still has children stays as a ghost and keeps its link;
* a childless non-real node is removed, cascading up through ghosts that lose their last child.

Only real nodes without children (leaves) are evicted, smallest tick first. A tick is taken from
a counter each time a block enters the index; a node keeps its tick while it is interior and
competes with it again once it is a leaf.

Leaves sit in a binary heap of ``(tick, block)`` with lazy deletion: an entry is valid while its
node is real, childless and still has that tick (ticks are unique). ``_queued`` holds the ticks
that have an entry, so a node that becomes a leaf again is not pushed twice. Every operation is
O(log n) amortised; stale entries are compacted when they outnumber the nodes.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass


@dataclass(slots=True)
class _Node:
    real: bool
    slot: int
    tick: int  # meaningful only while real
    parent: int | None  # the node this one is linked to (None = root or unlinked ghost)
    children: int  # number of linked child nodes


class LineageIndex:
    name = "lineage"

    def __init__(self) -> None:
        self._nodes: dict[int, _Node] = {}
        self._heap: list[tuple[int, int]] = []
        self._queued: set[int] = set()
        self._real = 0
        self._next_tick = 0

    def __len__(self) -> int:
        return self._real

    def __contains__(self, block: int) -> bool:
        node = self._nodes.get(block)
        return node is not None and node.real

    # -- mutation -------------------------------------------------------------------------

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        node = self._nodes.get(block)
        if node is None:
            node = self._nodes[block] = _Node(True, slot, 0, None, 0)
            self._link(node, parent)
        else:  # a ghost becomes real; a ghost made for a missing parent links only now
            if node.real:
                raise ValueError(f"block {block} is already inactive")
            node.real, node.slot = True, slot
            if node.parent is None:
                self._link(node, parent)
        node.tick = self._next_tick
        self._next_tick += 1
        self._real += 1
        if node.children == 0:
            self._queue(node.tick, block)

    def remove(self, block: int) -> int:
        node = self._nodes[block]
        if not node.real:
            raise KeyError(block)
        node.real = False
        self._real -= 1
        if node.children == 0:
            self._drop(block, node)
        return node.slot

    def pop_victim(self) -> tuple[int, int]:
        while self._heap:
            tick, block = heapq.heappop(self._heap)
            self._queued.discard(tick)
            if self._is_leaf_with_tick(block, tick):
                return block, self.remove(block)
        raise IndexError("pop_victim on an empty index")

    def touch(self, block: int) -> None:
        pass

    # -- queries --------------------------------------------------------------------------

    def order(self, limit: int | None = None) -> list[int]:
        """Simulate repeated evictions on an overlay (nodes untouched), O(k log n)."""
        heap = list(self._heap)
        queued = set(self._queued)
        children: dict[int, int] = {}  # overridden child counts
        gone: set[int] = set()  # nodes evicted in the simulation
        want = len(self) if limit is None else min(limit, len(self))
        out: list[int] = []
        while len(out) < want and heap:
            tick, block = heapq.heappop(heap)
            queued.discard(tick)
            node = self._nodes.get(block)
            if (
                node is None
                or block in gone
                or not node.real
                or node.tick != tick
                or children.get(block, node.children) != 0
            ):
                continue
            out.append(block)
            gone.add(block)
            parent = node.parent
            while parent is not None:  # cascade exactly as _drop does
                pnode = self._nodes[parent]
                left = children.get(parent, pnode.children) - 1
                children[parent] = left
                if left:
                    break
                if pnode.real and parent not in gone:
                    if pnode.tick not in queued:
                        queued.add(pnode.tick)
                        heapq.heappush(heap, (pnode.tick, parent))
                    break
                parent = pnode.parent
        return out

    def tick(self, block: int) -> int:
        return self._nodes[block].tick

    def is_leaf(self, block: int) -> bool:
        node = self._nodes.get(block)
        return node is not None and node.real and node.children == 0

    def describe(self, block: int) -> str:
        node = self._nodes[block]
        if node.children:
            return f"interior (protected by {node.children} child), released at tick {node.tick}"
        return f"leaf, released at tick {node.tick}"

    def clone(self) -> LineageIndex:
        twin = LineageIndex()
        twin._nodes = {
            k: _Node(n.real, n.slot, n.tick, n.parent, n.children) for k, n in self._nodes.items()
        }
        twin._heap = list(self._heap)
        twin._queued = set(self._queued)
        twin._real, twin._next_tick = self._real, self._next_tick
        return twin

    # -- internals ------------------------------------------------------------------------

    def _link(self, node: _Node, parent: int | None) -> None:
        if parent is None:
            return
        pnode = self._nodes.get(parent)
        if pnode is None:  # ghost for a missing parent, itself unlinked
            pnode = self._nodes[parent] = _Node(False, -1, 0, None, 0)
        pnode.children += 1
        node.parent = parent

    def _drop(self, block: int, node: _Node) -> None:
        """Remove a childless non-real node and prune ghosts that lose their last child."""
        del self._nodes[block]
        parent = node.parent
        while parent is not None:
            pnode = self._nodes[parent]
            pnode.children -= 1
            if pnode.children:
                return
            if pnode.real:  # re-leafed: competes again with its original tick
                self._queue(pnode.tick, parent)
                return
            del self._nodes[parent]
            parent = pnode.parent

    def _queue(self, tick: int, block: int) -> None:
        if tick in self._queued:
            return
        self._queued.add(tick)
        heapq.heappush(self._heap, (tick, block))
        if len(self._heap) > 2 * len(self._nodes) + 64:
            self._compact()

    def _compact(self) -> None:
        self._heap = [
            (n.tick, b) for b, n in self._nodes.items() if n.real and n.children == 0
        ]
        heapq.heapify(self._heap)
        self._queued = {tick for tick, _ in self._heap}

    def _is_leaf_with_tick(self, block: int, tick: int) -> bool:
        node = self._nodes.get(block)
        return node is not None and node.real and node.children == 0 and node.tick == tick
