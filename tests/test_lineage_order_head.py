"""`LineageIndex.order(k)` reads the heap in place: it must still be exactly the first k victims.

Random forests with hits (removals that leave stale heap entries and ghosts) and evictions; after
every operation each prefix order(k) equals order()[:k], and order() equals what repeated
pop_victim calls take on a clone.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kvtui.sim.eviction import LineageIndex

OPS = st.lists(st.tuples(st.sampled_from(["insert", "remove", "pop"]), st.integers(0, 30)), max_size=120)


@given(OPS)
def test_order_prefixes_are_the_next_victims(ops: list[tuple[str, int]]) -> None:
    index = LineageIndex()
    parents: dict[int, int | None] = {}  # a block's parent never changes (lineage is recorded once)
    for op, block in ops:
        if op == "insert" and block not in index:
            parent = parents.setdefault(block, block // 2 if block > 1 and block % 3 else None)
            index.insert(block, block, parent)
        elif op == "remove" and block in index:
            index.remove(block)
        elif op == "pop" and len(index):
            index.pop_victim()
        full = index.order()
        for k in range(len(full) + 2):
            assert index.order(k) == full[:k]
        twin = index.clone()
        assert [twin.pop_victim()[0] for _ in range(len(twin))] == full
