"""Packing of checkpoint tables (kvtui.sim.frozen) and slimmed step results."""

from __future__ import annotations

from array import array

import pytest

from kvtui.sim.frozen import SIGNED, UNSIGNED, PackedDict, pack
from kvtui.sim.manager import MoveResult


def test_signed_values_pack_narrow_then_wide_then_as_references() -> None:
    small = pack([0, -5, 2**31 - 1], SIGNED)
    assert isinstance(small, array) and small.itemsize == 4 and list(small) == [0, -5, 2**31 - 1]
    wide = pack([1, 2**31], SIGNED)  # one value past int32: the whole table goes 8 bytes
    assert isinstance(wide, array) and wide.itemsize == 8 and list(wide) == [1, 2**31]
    huge = pack([1, 2**63], SIGNED)  # past int64: plain references, values unchanged
    assert huge == [1, 2**63]
    assert pack([1, None], SIGNED) == [1, None]


def test_unsigned_ids_keep_eight_bytes() -> None:
    ids = pack([2**64 - 1, 0], UNSIGNED)
    assert isinstance(ids, array) and ids.typecode == UNSIGNED and list(ids) == [2**64 - 1, 0]


def test_packed_dict_thaws_equal_and_in_order() -> None:
    data = {9: 2**40, 3: -1, 7: 0}
    assert list(PackedDict(data, UNSIGNED, SIGNED).thaw().items()) == list(data.items())


def test_slim_result_is_equal_and_refuses_changes() -> None:
    inner = MoveResult(0, stored=[4])
    result = MoveResult(1, stored=[1, 2], expanded=[(None, inner)])  # type: ignore[list-item]
    slim = result.slim()
    assert slim == MoveResult(1, stored=[1, 2], expanded=[(None, MoveResult(0, stored=[4]))])  # type: ignore[list-item]
    assert slim.stored == [1, 2] and slim.events == [] and inner.evicted == []
    for empty in (slim.evicted, inner.onboarding):
        with pytest.raises(TypeError):
            empty.append(1)
        with pytest.raises(TypeError):
            empty += [1]
    assert slim.events == [] and MoveResult(0).events == []
