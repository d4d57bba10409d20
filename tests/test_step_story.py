"""The session-level pieces behind the TUI's step story: words, labels, timeline, problems, requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvtui.lang.commands import EXPECT_FORMS, PARSERS, USAGE
from kvtui.lang.request_parse import REQUEST_EXPECTS
from kvtui.lang.script import Check, Script, Step, load_script, make_step
from kvtui.session.journal import Journal
from kvtui.session.label_resolve import resolve_labels
from kvtui.session.labels import short
from kvtui.session.problems import preflight
from kvtui.session.request_rows import request_rows
from kvtui.session.resume import resume
from kvtui.session.session import Session, StepError
from kvtui.session.step_words import brief_command, describe, events_in_words
from kvtui.session.timeline import timeline_rows
from kvtui.sim.config import Config, OffloadConfig
from kvtui.sim.errors import ParseError

G2 = OffloadConfig(
    g2_blocks=4, block_size_bytes=1_000_000, g1_to_g2_gbps=1.0, g2_to_g1_gbps=1.0, batch_size=2
)
# G1 holds 2 blocks; 1 2 go to G2; 3 4 fill G1 (cached); swapin 1 2 then needs 3 4 offloaded first.
REFUSED_SWAPIN = ["use 1 2", "deref 2 1", "use 3 4", "tick next", "use 3 4", "deref 4 3", "swapin 1 2"]


def session_of(capacity: int, lines: list[str], **config: object) -> Session:
    """A session on `lines` as a script would give them: step N is on line N, expects attach."""
    steps: list[Step] = []
    intro = Step("")
    for n, text in enumerate(lines, 1):
        step = make_step(text, n)
        if text.startswith("expect"):
            (steps[-1] if steps else intro).checks.append(Check(n, text, step.command, step.error))  # type: ignore[arg-type]
        else:
            steps.append(step)
    return Session(Script("t.yaml", "t", "", Config(capacity, **config), steps, intro))  # type: ignore[arg-type]


def words_at_end(session: Session) -> tuple[str, str, int | None]:
    session.jump(session.total)
    words = describe(session.steps[-1].command, session.results[session.cursor - 1], session.world)
    return words.effect, words.refusal, words.returned


# -- step words ----------------------------------------------------------------------------


def test_use_words_name_stores_and_hits() -> None:
    effect, refusal, returned = words_at_end(session_of(8, ["use 1 2 3", "use 1 2 4"]))
    assert (effect, refusal, returned) == ("hit 1 2 · stored 4 in G1", "", 3)


def test_deref_words_say_which_blocks_became_cached() -> None:
    effect, _, returned = words_at_end(session_of(8, ["use 1 2 3", "use 1 2 4", "deref 4 2 1"]))
    # 1 and 2 are still held by the first chain: only 4 drops to refcount 0
    assert (effect, returned) == ("released 4 2 1 · now cached (refcount 0): 4", 1)


def test_refused_swapin_says_why() -> None:
    session = session_of(2, REFUSED_SWAPIN, offload=G2)
    effect, refusal, returned = words_at_end(session)
    assert returned == 1 and not session.last_result.onboarding  # type: ignore[union-attr]
    assert refusal == (
        "swapin refused: G1 must first offload 2 blocks to G2 (4 3); "
        "tick until the copy lands, then swapin again"
    )
    assert effect == "removed 4 3 from G1"  # lineage evicts the leaf 4 before its parent 3


def test_swapin_that_works_says_what_is_onboarding() -> None:
    lines = ["use 1 2 3 4", "deref 4 3 2 1", "use 20 21", "tick next", "swapin 1 2 3 4"]
    session = session_of(4, lines, offload=G2)
    effect, refusal, _ = words_at_end(session)
    assert refusal == "" and effect == "onboarding 3 4 from G2 (they land in G1 after a tick)"


def test_request_words_give_the_request_state() -> None:
    session = session_of(8, ["req a tokens " + " ".join(map(str, range(40))), "prefill a"], block_size=16)
    effect, _, returned = words_at_end(session)
    assert returned == 3  # two full blocks and the partial tail
    assert effect.startswith("a running: 40 tokens, 40 allocated, holds 3 blocks · 1 move · stored ")


def test_events_in_words_merge_runs_and_cut_long_lists() -> None:
    session = session_of(64, ["use " + " ".join(map(str, range(10)))])
    session.jump(1)
    assert events_in_words(session.last_result.events) == "stored 0 1 2 3 4 5 …(+4) in G1"  # type: ignore[union-attr]
    assert brief_command("visit " + " ".join(map(str, range(100))), 4) == "visit 0 1 2 …(+97 more)"


# -- plain-word errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["deref 4242424"], "deref 4242424: block 4242424 is not in G1, so there is no reference to release"),
        (["use 7", "deref 7", "deref 7"],
         "deref 7: block 7 is cached (refcount 0): nothing holds it, so there is nothing to release"),
        (["use 7", "deref 7 7"],
         "deref 7: block 7 is active with refcount 1, but the deref lists it 2 times"),
    ],
)
def test_deref_errors_name_the_block_and_its_state(lines: list[str], message: str) -> None:
    session = session_of(8, lines)
    with pytest.raises(StepError) as info:
        session.run_to_end()
    assert info.value.message == message


# -- labels --------------------------------------------------------------------------------


def long_ids(session: Session, ids: list[int]) -> None:
    session.insert("use " + " ".join(map(str, ids)))


def test_a_label_or_its_prefix_stands_for_the_block() -> None:
    session = session_of(8, [])
    long_ids(session, [5_000_000, 6_000_000])
    label = short(6_000_000)
    assert resolve_labels(f"deref {label}", session.world) == "deref 6000000"
    other = short(5_000_000)
    prefix = next(label[:n] for n in range(2, 8) if not other.startswith(label[:n]))
    session.insert(f"deref {prefix} {other}")  # typed: resolved before parsing and journaling
    assert session.steps[-1].text == "deref 6000000 5000000"
    assert resolve_labels(f"expect active {label}:1 parent={other}", session.world) == (
        "expect active 6000000:1 parent=5000000"
    )


def test_an_ambiguous_label_lists_the_candidates() -> None:
    ids = list(range(1_000_000, 1_000_017))  # 17 labels: two share their first hex digit
    session = session_of(32, [])
    long_ids(session, ids)
    first = [short(b)[:2] for b in ids]
    shared = next(p for p in first if first.count(p) > 1)
    matching = sorted(b for b in ids if short(b).startswith(shared))
    with pytest.raises(ParseError) as info:
        resolve_labels(f"deref {shared}", session.world)
    message = str(info.value)
    assert f"label '{shared}' matches {len(matching)} blocks" in message
    for block in matching:
        assert f"{short(block)}={block}" in message
    with pytest.raises(StepError, match="no known block has a label starting with '#zz'|bad block id"):
        session.insert("deref #zz")
    unused = next(f"#{n:06x}" for n in range(99) if all(not short(b).startswith(f"#{n:06x}") for b in ids))
    with pytest.raises(StepError, match=f"no known block has a label starting with '{unused}'"):
        session.insert(f"deref {unused}")


def test_request_text_keeps_hashes() -> None:
    session = session_of(8, [])
    assert resolve_labels('req a text "#abc"', session.world) == 'req a text "#abc"'


# -- timeline, failures, problems -----------------------------------------------------------


def test_timeline_rows_show_returns_marks_and_failures() -> None:
    lines = ["use 1 2", "expect stored 9", "deref 2 1", "frob 3"]
    session = session_of(4, lines)
    with pytest.raises(StepError, match="unknown command 'frob'"):
        session.jump(session.total)  # stops before the unparsable step; the failed expect is recorded
    rows = timeline_rows(session, 0, 10)
    assert [r.step for r in rows] == [0, 1, 2, 3]
    assert (rows[1].returned, rows[1].events, rows[1].checks) == (2, 1, 1)
    assert rows[1].failure.startswith("expect stored 9: ")
    assert rows[2].failure == ""
    assert rows[3].failure.startswith("unknown command 'frob'") and rows[3].returned is None


def test_preflight_lists_every_problem_before_the_first_step() -> None:
    lines = ["use 1 2", "expect stored 9", "expect frob", "deref 2 1", "bogus", "deref 5"]
    session = session_of(4, lines)
    problems = preflight(session)
    assert [(p.step, p.line) for p in problems] == [(1, 2), (1, 3), (3, 5)]
    assert problems[1].message.startswith("expect frob: unknown expectation 'frob'")
    assert problems[2].message.startswith("unknown command 'bogus'")
    assert session.cursor == 0 and 1 in session.failures  # the real session is untouched but marked


def test_preflight_reports_a_refused_command_and_stops_there() -> None:
    session = session_of(4, ["use 1", "deref 9", "use 2"])
    (problem,) = preflight(session)
    assert (problem.step, problem.line) == (2, 2) and "block 9 is not in G1" in problem.message


def test_requests_rows_give_state_and_figures() -> None:
    lines = ["req a tokens " + " ".join(map(str, range(40))), "prefill a", "req b share a 32 40"]
    session = session_of(8, lines, block_size=16)
    session.jump(3)
    a, b = request_rows(session.world)
    # a: 40 tokens = 2 full blocks + a partial tail, all held; its 2 full blocks are registered
    assert (a.name, a.state, a.tokens, a.generated, a.allocated, a.held, a.cached) == (
        "a", "running", 40, 0, 40, 3, 2
    )
    # b shares a's first 32 tokens: its first two full blocks are a's, already in G1
    assert (b.name, b.state, b.allocated, b.held, b.cached) == ("b", "waiting", 0, 0, 2)


# -- help tables, resume -------------------------------------------------------------------


def test_every_verb_has_its_usage_and_the_help_lists_every_form() -> None:
    from textual.binding import Binding

    from kvtui.tui.help import help_markdown

    assert list(USAGE) == list(PARSERS)
    text = help_markdown([Binding("q", "quit", "Quit")])
    for verb in PARSERS:
        assert USAGE[verb][0].replace("|", "\\|") in text
    for form in [*EXPECT_FORMS.values(), *REQUEST_EXPECTS.values()]:
        assert f"`{form}`" in text
    for glyph in ("`@N`", "`⇢`", "`⇠`", "`~`"):
        assert glyph in text


def test_resume_reopens_where_the_user_was(tmp_path: Path) -> None:
    path = tmp_path / "orig.yaml"
    path.write_text("config:\n  capacity: 8\nsteps:\n  - use 1 2\n  - use 3\n  - deref 3\n  - deref 2 1\n")
    journal = Journal(tmp_path / "j.jsonl")
    session = Session(load_script(path), journal)
    session.jump(1)
    session.insert("use 7")
    session.jump(4)
    journal.mark_cursor(session.cursor)
    again = resume(tmp_path / "j.jsonl")
    assert again.cursor == 4 and again.manager.dump() == session.manager.dump()
    rows = [json.loads(line) for line in (tmp_path / "j.jsonl").read_text().splitlines()]
    assert rows[-1] == {"cursor": 4}
    Journal(tmp_path / "unstarted.jsonl").mark_cursor(3)  # nothing typed: nothing to resume
    assert not (tmp_path / "unstarted.jsonl").exists()
