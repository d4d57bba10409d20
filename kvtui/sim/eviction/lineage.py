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
node is real, childless and still has that tick (ticks are unique). A node that becomes a leaf
again is pushed again even if an old entry of it is still in the heap: both carry the same
``(tick, block)``, so whichever comes out first evicts it and the other is then stale. Every
operation is O(log n) amortised; stale entries are compacted when they outnumber the nodes.

Speed (the manager calls `discard` per inactive hit, `pop_entry` per eviction and `insert_all`
per released chain, so these three are the engine's inner loop with this backend):

* one dict ``block -> (tick, slot, parent, children)`` instead of a dict per field: an operation
  does one lookup per node it touches. The node is an immutable tuple, replaced when it changes
  (about as fast as mutating a small list), so `clone` is one C-level dict copy sharing every
  node, and a thawed checkpoint zips its columns straight back into tuples;
* a released chain is eaten tail to root: the evicted leaf's parent becomes a leaf with the
  next tick, smaller than every other entry. It then simply replaces the heap's root (two
  comparisons with the root's children) instead of a pop and a push through the heap's depth.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush, heapreplace
from operator import itemgetter

from kvtui.sim.frozen import SIGNED, UNSIGNED, nbytes, pack

# A node is a tuple (tick, slot, parent, children), unpacked or indexed with literals in the hot
# methods (a named index would be one more global load per access):
#   tick      the node's tick, -1 for a ghost (so "real" is ``tick >= 0``);
#   slot      the G1 slot of a real node, -1 for a ghost;
#   parent    the parent block this node is linked to, None when not linked (a root, or a
#             ghost made for a missing parent);
#   children  how many nodes (real or ghost) are linked to this one.
Node = tuple[int, int, int | None, int]


class LineageIndex:
    """Nodes in one dict ``block -> (tick, slot, parent, children)`` (see ``Node`` above);
    ``_size`` counts the real nodes (the dict also holds ghosts)."""

    name = "lineage"
    needs_parent = True
    batch_inserts = True

    def __init__(self) -> None:
        self._nodes: dict[int, Node] = {}
        self._heap: list[tuple[int, int]] = []
        self._next_tick = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __contains__(self, block: int) -> bool:
        node = self._nodes.get(block)
        return node is not None and node[0] >= 0

    # -- mutation -------------------------------------------------------------------------

    def insert(self, block: int, slot: int, parent: int | None) -> None:
        self.insert_all([block], [slot], [parent])

    def insert_all(
        self, blocks: list[int], slots: list[int], parents: list[int | None] | None
    ) -> None:
        """Insert each block in order (a deref's chain, usually tail first), inlined: this is
        the backend's hottest loop. Tail first, each block finds the ghost its child made and
        makes one for its parent (a constant tuple, folded by the compiler: nothing allocated)."""
        assert parents is not None, "the lineage backend places a block by its parent"
        nodes, heap = self._nodes, self._heap
        start = tick = self._next_tick
        fresh = -1  # the ghost the previous block made for its parent (ids are never negative)
        try:
            for block, slot, parent in zip(blocks, slots, parents, strict=True):
                if block == fresh:  # that ghost, unlinked with one child: known without a lookup
                    nodes[block] = (tick, slot, parent, 1)
                else:
                    node = nodes.get(block)
                    if node is None:  # a new node: a leaf, linked to its parent now
                        nodes[block] = (tick, slot, parent, 0)
                        heappush(heap, (tick, block))
                    else:  # a ghost becomes real
                        old, _, link, kids = node
                        if old >= 0:
                            raise ValueError(f"block {block} is already inactive")
                        if not kids:  # (a ghost has children; kept as the rule reads)
                            heappush(heap, (tick, block))
                        if link is not None or parent is None:  # linked already (it was real), or a root
                            nodes[block] = (tick, slot, link, kids)
                            tick += 1
                            fresh = -1
                            continue
                        nodes[block] = (tick, slot, parent, kids)  # made for a missing parent: links now
                tick += 1
                fresh = -1
                if parent is not None:
                    up = nodes.get(parent)
                    if up is None:  # a ghost for the missing parent, not linked itself
                        nodes[parent] = (-1, -1, None, 1)
                        fresh = parent
                    else:
                        nodes[parent] = (up[0], up[1], up[2], up[3] + 1)
        finally:  # consistent even when a block was already inactive
            self._next_tick = tick
            self._size += tick - start
        if len(heap) > 2 * len(nodes) + 64:
            self._compact()

    def remove(self, block: int) -> int:
        """Take a real node out (a hit); it stays as a ghost while it has children."""
        nodes = self._nodes
        tick, slot, parent, kids = nodes[block]
        if tick < 0:
            raise KeyError(block)  # a ghost is not inactive
        self._size -= 1
        if kids:
            nodes[block] = (-1, -1, parent, kids)  # a ghost now, keeping its link
            return slot
        del nodes[block]
        while parent is not None:  # drop the node; prune ghosts that lose their last child
            tick, up_slot, grand, kids = nodes[parent]
            if kids > 1:
                nodes[parent] = (tick, up_slot, grand, kids - 1)
                return slot
            if tick >= 0:  # re-leafed: competes again with its original tick
                nodes[parent] = (tick, up_slot, grand, 0)
                heap = self._heap
                heappush(heap, (tick, parent))
                if len(heap) > 2 * len(nodes) + 64:
                    self._compact()
                return slot
            del nodes[parent]
            parent = grand
        return slot

    # The manager's per-hit call: the same method, one Python frame.
    discard = remove

    def pop_victim(self) -> tuple[int, int]:
        """Evict the oldest leaf: the heap's smallest entry whose node is still a real leaf
        with that tick (stale entries met on the way are dropped)."""
        heap, nodes = self._heap, self._nodes
        while True:
            try:
                tick, block = heap[0]
            except IndexError:
                raise IndexError("pop_victim on an empty index") from None
            node = nodes.pop(block, None)
            if node is not None:
                if node[0] == tick and not node[3]:
                    break
                nodes[block] = node  # a stale entry: put back (the dict's order does not matter)
            heappop(heap)
        self._size -= 1
        slot: int = node[1]
        parent = node[2]
        while parent is not None:  # drop the node; prune ghosts that lose their last child
            tick, up_slot, grand, kids = nodes[parent]
            if kids > 1:
                nodes[parent] = (tick, up_slot, grand, kids - 1)
                break
            if tick >= 0:  # re-leafed: its entry takes the victim's place at the root
                nodes[parent] = (tick, up_slot, grand, 0)
                entry = (tick, parent)
                try:
                    if entry < heap[1] and entry < heap[2]:
                        heap[0] = entry  # the usual case (a chain eaten tail first): O(1)
                    else:
                        heapreplace(heap, entry)
                except IndexError:  # a heap of one or two entries
                    heapreplace(heap, entry)
                return block, slot
            del nodes[parent]
            parent = grand
        heappop(heap)
        return block, slot

    # The manager's per-eviction call: the same method, one Python frame.
    pop_entry = pop_victim

    def touch(self, block: int) -> None:
        pass

    # -- queries --------------------------------------------------------------------------

    def order(self, limit: int | None = None) -> list[int]:
        """Simulate repeated evictions on an overlay (the index is untouched).

        The heap is read in place, smallest entry first, through a frontier of heap positions
        (an entry's children are looked at only once it is taken), so the next k victims cost
        O((k + stale entries met) log n) instead of a copy of the heap: a viewer or a comparison
        can ask for the queue's head after every step. A node that becomes a leaf in the
        simulation is pushed on an overlay heap; if it also still has an entry in the heap,
        the first of the two evicts it and the second finds it gone, as in `pop_victim`.
        """
        heap, nodes = self._heap, self._nodes
        frontier: list[tuple[tuple[int, int], int]] = [(heap[0], 0)] if heap else []
        pushed: list[tuple[int, int]] = []  # nodes that became leaves in the simulation
        children: dict[int, int] = {}  # overridden child counts
        gone: set[int] = set()  # nodes evicted in the simulation
        want = len(self) if limit is None else min(limit, len(self))
        out: list[int] = []
        while len(out) < want and (frontier or pushed):
            if frontier and (not pushed or frontier[0][0] < pushed[0]):
                (tick, block), at = heappop(frontier)
                for child in (2 * at + 1, 2 * at + 2):
                    if child < len(heap):
                        heappush(frontier, (heap[child], child))
            else:
                tick, block = heappop(pushed)
            node = nodes.get(block)
            if node is None or node[0] != tick or block in gone:
                continue
            if children.get(block, node[3]) != 0:
                continue
            out.append(block)
            gone.add(block)
            parent = node[2]
            while parent is not None:  # cascade exactly as pop_victim does
                up = nodes[parent]
                left = children[parent] = children.get(parent, up[3]) - 1
                if left:
                    break
                if up[0] >= 0:
                    heappush(pushed, (up[0], parent))
                    break
                parent = up[2]
        return out

    def tick(self, block: int) -> int:
        tick: int = self._nodes[block][0]
        if tick < 0:
            raise KeyError(block)
        return tick

    def is_leaf(self, block: int) -> bool:
        node = self._nodes.get(block)
        return node is not None and node[0] >= 0 and not node[3]

    def describe(self, block: int) -> str:
        tick, _, _, children = self._nodes[block]
        if tick < 0:
            raise KeyError(block)
        if children:
            kids = "child" if children == 1 else "children"
            return f"behind {children} {kids}, released at tick {tick}"
        return f"leaf, released at tick {tick}"

    def clone(self) -> LineageIndex:
        twin = LineageIndex.__new__(LineageIndex)
        twin._nodes = self._nodes.copy()  # the nodes themselves are immutable: shared
        twin._heap = self._heap.copy()
        twin._next_tick = self._next_tick
        twin._size = self._size
        return twin

    def freeze(self) -> FrozenLineage:
        """A compact copy for a long-lived checkpoint (kvtui.sim.frozen)."""
        return FrozenLineage(self)

    @property
    def node_count(self) -> int:
        """Real and ghost nodes (for tests of ghost pruning)."""
        return len(self._nodes)

    # -- internals ------------------------------------------------------------------------

    def _compact(self) -> None:
        """Rebuild the heap from the leaves: drops stale and duplicate entries."""
        self._heap = [(node[0], block) for block, node in self._nodes.items() if node[0] >= 0 and not node[3]]
        heapify(self._heap)


class FrozenLineage:
    """A LineageIndex packed: its nodes as columns (ids, ticks, slots, parents, child counts) and
    its heap as two arrays; all C-level both ways. Ghosts pack as tick and slot -1; parents
    pack as an id array unless a node is unlinked (None), then as references."""

    __slots__ = ("keys", "tick", "slot", "parent", "children", "heap", "next_tick", "size")

    def __init__(self, index: LineageIndex) -> None:
        nodes = index._nodes.values()
        self.keys = pack(index._nodes, UNSIGNED)
        self.tick = pack(map(itemgetter(0), nodes), SIGNED)
        self.slot = pack(map(itemgetter(1), nodes), SIGNED)
        self.parent = pack(map(itemgetter(2), nodes), UNSIGNED)
        self.children = pack(map(itemgetter(3), nodes), SIGNED)
        heap = index._heap
        self.heap = (pack(map(itemgetter(0), heap), SIGNED), pack(map(itemgetter(1), heap), UNSIGNED))
        self.next_tick = index._next_tick
        self.size = index._size

    def thaw(self) -> LineageIndex:
        twin = LineageIndex.__new__(LineageIndex)
        columns = zip(self.tick, self.slot, self.parent, self.children, strict=True)
        twin._nodes = dict(zip(self.keys, columns, strict=True))
        twin._heap = list(zip(*self.heap, strict=True))
        twin._next_tick = self.next_tick
        twin._size = self.size
        return twin

    @property
    def nbytes(self) -> int:
        return nbytes(self.keys, self.tick, self.slot, self.parent, self.children, *self.heap)
