"""The lineage backend as it was before its speed-up (commit 79a37c3: four parallel dicts and a
``_queued`` set), kept verbatim as the oracle of tests/test_lineage_reference.py: the fast index
must take the same victims, in the same order, with the same descriptions, after any sequence of
operations. Do not optimise this file; it is meant to stay obviously equal to SPEC §3.1.
"""

from __future__ import annotations

import heapq


class ReferenceLineage:
    """Nodes are kept in parallel dicts (not objects) so that `clone` is a few C-level copies.

    * ``_tick``: real nodes only (block -> tick); membership means "real";
    * ``_slot``: real nodes only (block -> G1 slot);
    * ``_parent``: every node that is linked to a parent (block -> parent block);
    * ``_children``: every node (real or ghost) -> number of linked child nodes.
    """

    name = "lineage"
    needs_parent = True

    def __init__(self) -> None:
        self._tick: dict[int, int] = {}
        self._slot: dict[int, int] = {}
        self._parent: dict[int, int] = {}
        self._children: dict[int, int] = {}
        self._heap: list[tuple[int, int]] = []
        self._queued: set[int] = set()
        self._next_tick = 0

    def __len__(self) -> int:
        return len(self._tick)

    def __contains__(self, block: int) -> bool:
        return block in self._tick

    # -- mutation -------------------------------------------------------------------------

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        self.insert_all([block], [slot], [parent])

    def insert_all(
        self, blocks: list[int], slots: list[int], parents: list[int | None] | None
    ) -> None:
        """Insert each block in order (a deref's chain), with the helpers inlined: this is the
        backend's hottest loop. A fresh tick is never queued yet, so it is pushed unchecked."""
        assert parents is not None, "the lineage backend places a block by its parent"
        tick_of, slot_of, children, parent_of = self._tick, self._slot, self._children, self._parent
        heap, queued = self._heap, self._queued
        tick = self._next_tick
        for block, slot, parent in zip(blocks, slots, parents, strict=True):
            if block in tick_of:
                raise ValueError(f"block {block} is already inactive")
            kids = children.get(block)
            if kids is None:  # a new node, linked to its parent now
                children[block] = kids = 0
                link = True
            else:  # a ghost made for a missing parent links only now
                link = block not in parent_of
            if link and parent is not None:
                children[parent] = children.get(parent, 0) + 1  # (a ghost if it was missing)
                parent_of[block] = parent
            tick_of[block] = tick
            slot_of[block] = slot
            if not kids:
                queued.add(tick)
                heapq.heappush(heap, (tick, block))
            tick += 1
        self._next_tick = tick
        if len(heap) > 2 * len(children) + 64:
            self._compact()

    def remove(self, block: int) -> int:
        del self._tick[block]
        slot = self._slot.pop(block)
        if self._children[block] == 0:
            self._drop(block)
        return slot

    def discard(self, block: int) -> object:
        return self.remove(block)

    def pop_entry(self) -> tuple[int, object]:
        return self.pop_victim()

    def pop_victim(self) -> tuple[int, int]:
        heap, tick_of, children, queued = self._heap, self._tick, self._children, self._queued
        while heap:
            tick, block = heapq.heappop(heap)
            queued.discard(tick)
            if tick_of.get(block) == tick and children[block] == 0:
                del tick_of[block]
                slot = self._slot.pop(block)
                self._drop(block)
                return block, slot
        raise IndexError("pop_victim on an empty index")

    def touch(self, block: int) -> None:
        pass

    # -- queries --------------------------------------------------------------------------

    def order(self, limit: int | None = None) -> list[int]:
        """Simulate repeated evictions on an overlay (the index is untouched).

        The heap is read in place, smallest entry first, through a frontier of heap positions
        (an entry's children are looked at only once it is taken), so the next k victims cost
        O((k + stale entries met) log n) instead of a copy of the heap: a viewer or a comparison
        can ask for the queue's head after every step.
        """
        heap = self._heap
        frontier: list[tuple[tuple[int, int], int]] = [(heap[0], 0)] if heap else []
        pushed: list[tuple[int, int]] = []  # nodes that became leaves in the simulation
        queued: dict[int, bool] = {}  # overrides of `tick in self._queued`
        children: dict[int, int] = {}  # overridden child counts
        gone: set[int] = set()  # nodes evicted in the simulation
        want = len(self) if limit is None else min(limit, len(self))
        out: list[int] = []
        while len(out) < want and (frontier or pushed):
            if frontier and (not pushed or frontier[0][0] < pushed[0]):
                (tick, block), at = heapq.heappop(frontier)
                for child in (2 * at + 1, 2 * at + 2):
                    if child < len(heap):
                        heapq.heappush(frontier, (heap[child], child))
            else:
                tick, block = heapq.heappop(pushed)
            queued[tick] = False
            if block in gone or self._tick.get(block) != tick:
                continue
            if children.get(block, self._children[block]) != 0:
                continue
            out.append(block)
            gone.add(block)
            parent = self._parent.get(block)
            while parent is not None:  # cascade exactly as _drop does
                left = children.get(parent, self._children[parent]) - 1
                children[parent] = left
                if left:
                    break
                if parent in self._tick and parent not in gone:
                    ptick = self._tick[parent]
                    if not queued.get(ptick, ptick in self._queued):
                        queued[ptick] = True
                        heapq.heappush(pushed, (ptick, parent))
                    break
                parent = self._parent.get(parent)
        return out

    def tick(self, block: int) -> int:
        return self._tick[block]

    def is_leaf(self, block: int) -> bool:
        return block in self._tick and self._children[block] == 0

    def describe(self, block: int) -> str:
        children = self._children[block]
        if children:
            kids = "child" if children == 1 else "children"
            return f"behind {children} {kids}, released at tick {self._tick[block]}"
        return f"leaf, released at tick {self._tick[block]}"

    def clone(self) -> ReferenceLineage:
        twin = ReferenceLineage.__new__(ReferenceLineage)
        twin._tick = self._tick.copy()
        twin._slot = self._slot.copy()
        twin._parent = self._parent.copy()
        twin._children = self._children.copy()
        twin._heap = self._heap.copy()
        twin._queued = self._queued.copy()
        twin._next_tick = self._next_tick
        return twin

    @property
    def node_count(self) -> int:
        """Real and ghost nodes (for tests of ghost pruning)."""
        return len(self._children)

    # -- internals ------------------------------------------------------------------------

    def _drop(self, block: int) -> None:
        """Remove a childless non-real node and prune ghosts that lose their last child."""
        del self._children[block]
        parent = self._parent.pop(block, None)
        while parent is not None:
            left = self._children[parent] = self._children[parent] - 1
            if left:
                return
            if parent in self._tick:  # re-leafed: competes again with its original tick
                self._queue(self._tick[parent], parent)
                return
            del self._children[parent]
            parent = self._parent.pop(parent, None)

    def _queue(self, tick: int, block: int) -> None:
        if tick in self._queued:
            return
        self._queued.add(tick)
        heapq.heappush(self._heap, (tick, block))
        if len(self._heap) > 2 * len(self._children) + 64:
            self._compact()

    def _compact(self) -> None:
        self._heap = [(t, b) for b, t in self._tick.items() if self._children[b] == 0]
        heapq.heapify(self._heap)
        self._queued = {tick for tick, _ in self._heap}
