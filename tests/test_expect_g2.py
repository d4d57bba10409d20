"""`expect` forms for the G2 tier: what `parse` accepts and rejects, and what `check` says.

Forms (kvtui.lang.commands.EXPECT_FORMS):
* `expect pools ... [quarantined=N] [reserved=N]` – G1 slots held behind a G1→G2 copy / reserved
  as swap-in destinations;
* `expect g2 [ID ...]` – G2's evictable residents, exactly, in G2 eviction order;
* `expect pinned [ID ...]` – exactly these G2 blocks are pinned by in-flight swap-ins (any order);
* `expect host_stored [ID ...]` / `expect host_removed [ID ...]` – the previous command's
  `host_pinned` stored / removed blocks, in publication order;
* `expect transfers N` – transfers in flight now; `expect eta MS` – the earliest pending deadline.

The state forms (g2, pinned, transfers, eta) fail without G2; the host_* forms only read the
previous command's events, so they hold trivially (empty) without G2.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvtui.lang.commands import ExpectCommand, parse
from kvtui.lang.expect import ExpectFailure, check
from kvtui.lang.script import load_script
from kvtui.lang.syntax import MAX_ID
from kvtui.session.session import Session, StepError
from kvtui.sim.errors import ParseError
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.workload.world import World
from tests.test_commands import FORMS, check_round_trip
from tests.test_seed_offload import G2Driver

TOO_BIG = str(2**64)
POOL_KEYS = "reset=N, inactive=N, active=N, quarantined=N, reserved=N"

# -- accepted forms ------------------------------------------------------------------------

G2_EXPECTS = [
    ("expect g2", ExpectCommand("g2", text="expect g2")),
    ("expect g2 4 3", ExpectCommand("g2", blocks=(4, 3), text="expect g2 4 3")),
    ("expect pinned", ExpectCommand("pinned", text="expect pinned")),
    ("expect pinned 3 4", ExpectCommand("pinned", blocks=(3, 4), text="expect pinned 3 4")),
    ("expect host_stored", ExpectCommand("host_stored", text="expect host_stored")),
    ("expect host_stored 1 3 2 4",
     ExpectCommand("host_stored", blocks=(1, 3, 2, 4), text="expect host_stored 1 3 2 4")),
    ("expect host_removed", ExpectCommand("host_removed", text="expect host_removed")),
    (f"expect host_removed 2 {MAX_ID}",
     ExpectCommand("host_removed", blocks=(2, MAX_ID), text=f"expect host_removed 2 {MAX_ID}")),
    ("expect transfers 0", ExpectCommand("transfers", number=0, text="expect transfers 0")),
    ("expect transfers 2", ExpectCommand("transfers", number=2, text="expect transfers 2")),
    ("expect eta 5.5", ExpectCommand("eta", number=5.5, text="expect eta 5.5")),
    ("expect eta 4.", ExpectCommand("eta", number=4.0, text="expect eta 4.")),
    ("expect eta .25", ExpectCommand("eta", number=0.25, text="expect eta .25")),
    # an instantaneous link (gbps <= 0) can be due at 0, so eta accepts 0 (clock does not)
    ("expect eta 0", ExpectCommand("eta", number=0.0, text="expect eta 0")),
    ("expect pools quarantined=2 reserved=1",
     ExpectCommand("pools", counts=(("quarantined", 2), ("reserved", 1)),
                   text="expect pools quarantined=2 reserved=1")),
    ("expect pools reset=0 inactive=0 active=4 quarantined=2 reserved=2",
     ExpectCommand("pools", counts=(("reset", 0), ("inactive", 0), ("active", 4), ("quarantined", 2),
                                    ("reserved", 2)),
                   text="expect pools reset=0 inactive=0 active=4 quarantined=2 reserved=2")),
    ("  expect\tg2  8   7 ", ExpectCommand("g2", blocks=(8, 7), text="expect g2 8 7")),
]


@pytest.mark.parametrize(("text", "expected"), G2_EXPECTS, ids=[t for t, _ in G2_EXPECTS])
def test_g2_expect_forms(text: str, expected: ExpectCommand) -> None:
    command = parse(text)
    assert command == expected
    assert str(command) == expected.text
    assert parse(str(command)) == command


def test_forms_are_listed() -> None:
    from kvtui.lang.commands import EXPECT_FORMS

    assert EXPECT_FORMS["g2"] == "expect g2 [ID ...]"
    assert EXPECT_FORMS["pinned"] == "expect pinned [ID ...]"
    assert EXPECT_FORMS["host_stored"] == "expect host_stored [ID ...]"
    assert EXPECT_FORMS["host_removed"] == "expect host_removed [ID ...]"
    assert EXPECT_FORMS["transfers"] == "expect transfers N"
    assert EXPECT_FORMS["eta"] == "expect eta MS"
    assert EXPECT_FORMS["pools"] == (
        "expect pools [reset=N] [inactive=N] [active=N] [quarantined=N] [reserved=N]"
    )


# -- rejected forms: exact messages --------------------------------------------------------

G2_ERRORS = [
    ("expect transfers", "usage: expect transfers N at column 17"),
    ("expect transfers 1 2", "usage: expect transfers N at column 20"),
    ("expect transfers x", "bad count 'x' (a non-negative decimal integer) at column 18"),
    ("expect transfers 1.5", "bad count '1.5' (a non-negative decimal integer) at column 18"),
    ("expect transfers -1", "bad count '-1' (a non-negative decimal integer) at column 18"),
    ("expect eta", "usage: expect eta MS at column 11"),
    ("expect eta  ", "usage: expect eta MS at column 11"),
    ("expect eta 1 2", "usage: expect eta MS at column 14"),
    ("expect eta -1", "bad time '-1' (a decimal number of milliseconds >= 0) at column 12"),
    ("expect eta next", "bad time 'next' (a decimal number of milliseconds >= 0) at column 12"),
    ("expect eta 1e3", "bad time '1e3' (a decimal number of milliseconds >= 0) at column 12"),
    ("expect eta inf", "bad time 'inf' (a decimal number of milliseconds >= 0) at column 12"),
    ("expect eta " + "9" * 400,
     # a long token is cut in the middle (21 characters a side, quotes included) with its length
     f"bad time '{'9' * 20}…{'9' * 20}' (402 characters) (a decimal number of milliseconds >= 0) "
     "at column 12"),
    ("expect g2 ~a", "bad block id '~a' (a non-negative decimal integer) at column 11"),
    ("expect g2 1 x", "bad block id 'x' (a non-negative decimal integer) at column 13"),
    ("expect pinned x", "bad block id 'x' (a non-negative decimal integer) at column 15"),
    ("expect host_stored parent=1",
     "bad block id 'parent=1' (a non-negative decimal integer) at column 20"),
    (f"expect host_removed {TOO_BIG}", f"block id '{TOO_BIG}' does not fit in 64 bits at column 21"),
    ("expect pools quarantined", f"expect pools takes {POOL_KEYS}, got 'quarantined' at column 14"),
    ("expect pools held=1", f"expect pools takes {POOL_KEYS}, got 'held=1' at column 14"),
    ("expect pools reserved=-1", "bad count '-1' (a non-negative decimal integer) at column 23"),
    ("expect pools quarantined=x", "bad count 'x' (a non-negative decimal integer) at column 26"),
    ("expect G2", f"unknown expectation 'G2' (expected one of {FORMS}) at column 8"),
    ("expect host-stored", f"unknown expectation 'host-stored' (expected one of {FORMS}) at column 8"),
    ("expect", f"expect needs one of {FORMS} at column 7"),
]


@pytest.mark.parametrize(("text", "message"), G2_ERRORS, ids=[t[:40] for t, _ in G2_ERRORS])
def test_g2_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert str(info.value) == message
    column = int(re.search(r"at column (\d+)\Z", message).group(1))  # type: ignore[union-attr]
    assert info.value.position == column


G2_WORDS = [
    "expect", "g2", "pinned", "host_stored", "host_removed", "transfers", "eta", "pools",
    "0", "1", "2", "5.5", ".5", "4.", "-1", "1e3", "next", "~a", str(MAX_ID), TOO_BIG,
    "quarantined=1", "reserved=0", "reset=2", "quarantined=", "reserved=x", "held=1", "parent=1",
]


@given(st.lists(st.sampled_from(G2_WORDS), max_size=7))
def test_random_g2_expects_parse_or_raise(words: list[str]) -> None:
    check_round_trip(" ".join(["expect", *words]))
    check_round_trip(" ".join(words))


# -- check: pass and fail messages ---------------------------------------------------------


def holds(text: str, mgr: KvManager, last: MoveResult | None = None) -> None:
    command = parse(text)
    assert isinstance(command, ExpectCommand)
    check(command, World(mgr), last)


def fails(text: str, mgr: KvManager, last: MoveResult | None, message: str) -> None:
    command = parse(text)
    assert isinstance(command, ExpectCommand)
    with pytest.raises(ExpectFailure) as info:
        check(command, World(mgr), last)
    assert str(info.value) == message


def blocked_copy(onboard_gbps: float = 1.0) -> tuple[G2Driver, MoveResult]:
    """Capacity 2, G2 4 blocks: the chain 1→2 is cached, then `use 3 4` evicts it into one
    2 MB copy at 1 GB/s (due at 2 ms) and stops."""
    d = G2Driver(2, 4, onboard_gbps=onboard_gbps)
    assert d.use(1, 2) == 2
    d.deref(2, 1)
    result = d.run(3, 4)
    assert (result.returned, result.blocked) == (0, True)
    return d, result


def test_pools_quarantined_and_reserved() -> None:
    d, result = blocked_copy()
    holds("expect pools reset=0 inactive=0 active=2 quarantined=2 reserved=0", d.mgr, result)
    fails("expect pools quarantined=1", d.mgr, result, "expected quarantined=1, got quarantined=2")
    fails("expect pools reserved=2", d.mgr, result, "expected reserved=2, got reserved=0")
    d.tick()
    holds("expect pools reset=2 quarantined=0 reserved=0", d.mgr)
    d.swapin(1, 2)
    holds("expect pools reset=0 inactive=0 active=2 quarantined=0 reserved=2", d.mgr)
    fails("expect pools reserved=1", d.mgr, None, "expected reserved=1, got reserved=2")


def test_pools_without_g2_counts_zero_held_slots() -> None:
    mgr = KvManager(3)
    holds("expect pools reset=3 quarantined=0 reserved=0", mgr)
    fails("expect pools quarantined=1", mgr, None, "expected quarantined=1, got quarantined=0")


def test_transfers_and_eta() -> None:
    d, result = blocked_copy()
    holds("expect transfers 1", d.mgr, result)
    fails("expect transfers 2", d.mgr, result, "expected 2 transfer(s) in flight, got 1")
    holds("expect eta 2", d.mgr, result)
    holds("expect eta 2.0", d.mgr, result)
    fails("expect eta 1.5", d.mgr, result, "expected eta 1.5 ms, got 2 ms")
    d.tick(0.5)
    holds("expect eta 2", d.mgr)  # the deadline is absolute, not a remaining time
    d.tick()
    holds("expect transfers 0", d.mgr)
    fails("expect transfers 1", d.mgr, None, "expected 1 transfer(s) in flight, got 0")
    fails("expect eta 2", d.mgr, None, "expected eta 2 ms, but no transfer is in flight")


def test_eta_is_the_earliest_of_several_deadlines() -> None:
    d, _ = blocked_copy(onboard_gbps=2.0)
    d.tick()  # 1 and 2 land on G2 at 2.0
    d.swapin(1)  # 1 MB onboard at 2 GB/s from 2.0: due at 2.5
    assert d.use(3) == 1
    d.deref(3)
    assert d.use(5) == 0  # evicts 3: a 1 MB copy on the offload link from 2.0, due at 3.0
    holds("expect transfers 2", d.mgr)
    holds("expect eta 2.5", d.mgr)
    fails("expect eta 3", d.mgr, None, "expected eta 3 ms, got 2.5 ms")
    d.tick()
    holds("expect transfers 1", d.mgr)
    holds("expect eta 3", d.mgr)


def test_eta_zero_on_an_instantaneous_link() -> None:
    d = G2Driver(1, 4, offload_gbps=0.0)
    assert d.use(1) == 1
    d.deref(1)
    assert d.use(2) == 0
    holds("expect eta 0", d.mgr)
    fails("expect eta 1", d.mgr, None, "expected eta 1 ms, got 0 ms")


def test_host_stored_and_host_removed() -> None:
    d, result = blocked_copy()
    holds("expect host_stored", d.mgr, result)  # nothing lands until the copy completes
    holds("expect host_removed", d.mgr, result)
    holds("expect removed 2 1", d.mgr, result)  # the device tier, published at once
    landed = d.tick()
    holds("expect host_stored 1 2", d.mgr, landed)  # lineage order: parents first
    fails("expect host_stored 2 1", d.mgr, landed, "expected host_stored [2 1], got [1 2]")
    fails("expect host_stored", d.mgr, landed, "expected host_stored [], got [1 2]")
    holds("expect stored", d.mgr, landed)  # `stored` stays the device tier
    holds("expect removed", d.mgr, landed)


def test_host_removed_names_g2_evictions_in_g2_order() -> None:
    # G2 holds 2 blocks; after 1→2 lands there, copying 3 and 4 evicts 2 then 1 (leaf first).
    d = G2Driver(2, 2)
    assert d.use(1, 2) == 2
    d.deref(2, 1)
    assert d.use(3, 4) == 0
    d.tick()
    assert d.use(3, 4) == 2
    d.deref(4, 3)
    result = d.run(5, 6)
    holds("expect removed 4 3", d.mgr, result)
    holds("expect host_removed 2 1", d.mgr, result)
    fails("expect host_removed 1 2", d.mgr, result, "expected host_removed [1 2], got [2 1]")
    fails("expect removed 2 1", d.mgr, result, "expected removed [2 1], got [4 3]")
    holds("expect host_stored", d.mgr, result)


def test_g2_eviction_order_and_pins() -> None:
    d, result = blocked_copy()
    holds("expect g2", d.mgr, result)  # in flight: destination slots taken, not yet resident
    d.tick()
    holds("expect g2 2 1", d.mgr)
    fails("expect g2 1 2", d.mgr, None, "expected G2 eviction order [1 2], got [2 1]")
    fails("expect g2 2", d.mgr, None, "expected G2 eviction order [2], got [2 1]")
    holds("expect pinned", d.mgr)
    d.swapin(1, 2)
    holds("expect pinned 1 2", d.mgr)
    holds("expect pinned 2 1", d.mgr)  # pins have no order
    fails("expect pinned 1", d.mgr, None, "expected pinned [1], got [1 2]")
    fails("expect pinned", d.mgr, None, "expected pinned [], got [1 2]")
    holds("expect g2", d.mgr)  # pinned blocks are out of the eviction order
    landed = d.tick()
    holds("expect stored 1 2 parent=none", d.mgr, landed)
    holds("expect pinned", d.mgr)
    holds("expect g2 2 1", d.mgr)


@pytest.mark.parametrize("text", ["expect g2", "expect pinned", "expect transfers 0", "expect eta 1"])
def test_g2_state_forms_need_g2(text: str) -> None:
    fails(text, KvManager(4), None, f"'{text}' needs the G2 tier (an offload section in the config)")


def test_host_forms_without_g2_read_the_events() -> None:
    mgr = KvManager(1)
    result = mgr.use(parse("use 1").move)  # type: ignore[union-attr]
    holds("expect host_stored", mgr, result)
    holds("expect host_removed", mgr, result)
    fails("expect host_stored 1", mgr, result, "expected host_stored [1], got []")


@pytest.mark.parametrize("text", ["expect host_stored", "expect host_removed 1"])
def test_host_forms_need_a_command_before_them(text: str) -> None:
    d = G2Driver(1, 1)
    fails(text, d.mgr, None, f"'{text}' needs a command before it")


# -- in scripts ----------------------------------------------------------------------------

SCRIPT = """\
config:
  capacity: 1
  offload:
    g2_blocks: 1
    g1_to_g2_gbps: 1.0
steps:
  - use 1
  - deref 1
  - use 2
  - expect transfers 1
  - expect eta 1
  - expect pools quarantined=1
  - tick next
  - expect host_stored 1
  - expect g2 1
  - expect transfers 0
  - use 2
  - deref 2
  - use 3
  - expect host_removed 1
  - expect g2
  - expect eta {eta}
"""


def test_script_with_g2_expects_runs_green(tmp_path: Path) -> None:
    path = tmp_path / "g2.yaml"
    path.write_text(SCRIPT.format(eta=2), encoding="utf-8")
    session = Session(load_script(path))
    session.run_to_end()
    assert session.cursor == 7


def test_failing_g2_expect_reports_file_line_and_message(tmp_path: Path) -> None:
    path = tmp_path / "g2.yaml"
    path.write_text(SCRIPT.format(eta=2.5), encoding="utf-8")
    session = Session(load_script(path))
    with pytest.raises(StepError) as info:
        session.run_to_end()
    assert (info.value.step, info.value.line) == (7, 22)
    assert str(info.value) == f"{path}:22: expect eta 2.5: expected eta 2.5 ms, got 2 ms"


def test_typed_g2_expect_is_checked_at_once(tmp_path: Path) -> None:
    path = tmp_path / "g2.yaml"
    path.write_text(SCRIPT.format(eta=2), encoding="utf-8")
    session = Session(load_script(path))
    session.jump(3)  # after `use 2`: the copy of 1 is in flight
    assert session.insert("expect transfers 1") is None
    with pytest.raises(StepError, match=r"expect g2 1: expected G2 eviction order \[1\], got \[\]"):
        session.insert("expect g2 1")


def test_eta_failure_prints_exact_times() -> None:
    d, _ = blocked_copy()
    fails("expect eta 1999999.5", d.mgr, None, "expected eta 1999999.5 ms, got 2 ms")
    fails("expect eta 2.000001", d.mgr, None, "expected eta 2.000001 ms, got 2 ms")
