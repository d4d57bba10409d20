"""`expect` forms about requests (see request_commands.REQUEST_EXPECTS).

* ``expect request NAME [STATE] [tokens=N] [generated=N] [allocated=N] [held=N] [cached=N]``:
  the request exists, is in STATE (waiting, running, preempted, finished) and has these figures:
  ``tokens`` known tokens (prompt + generated), ``generated`` decoded tokens, ``allocated``
  tokens covered by its allocation, ``held`` blocks it holds now, ``cached`` leading full
  blocks of its sequence resident in G1 now (active or cached: a prefill-cost lookup, §4.4).
* ``expect hit N``: the previous command's first ``Use`` found its N leading full blocks
  resident in G1 (its prefix hit). It needs a request command (or ``visit``) before it.
* ``expect moves [use|deref|promote ...]``: the previous command expanded to MoveBlocks of
  these kinds, in order (none: it expanded to nothing).
* scheduler (SPEC §13): ``expect running NAME ...`` / ``expect waiting NAME ...`` name the
  queue in order; ``expect preempted N``: the previous pass preempted N requests;
  ``expect request NAME … computed=N preemptions=N ttft=MS`` (computed tokens, times preempted,
  first token time minus arrival).

Encoding in :class:`ExpectCommand`: ``names`` holds NAME (and STATE) or the move kinds,
``counts`` the key=N pairs, ``number`` the hit count.
"""

from __future__ import annotations

from kvtui.lang.request_parse import REQUEST_EXPECTS
from kvtui.lang.syntax import NUMBER, ExpectCommand, Token, block_id, err, fmt_ms
from kvtui.sim.errors import ParseError
from kvtui.sim.manager import MoveResult
from kvtui.sim.moves import Deref, Promote, Use
from kvtui.workload.requests import STATES, first_use, prefix_hit
from kvtui.workload.scheduler.state import PassResult
from kvtui.workload.world import World

FIGURES = ("tokens", "generated", "allocated", "held", "cached", "computed", "preemptions", "ttft")
KINDS = ("use", "deref", "promote")

__all__ = ["REQUEST_EXPECTS", "parse_request_expect", "request_expect_problem"]


def parse_request_expect(text: str, args: list[Token], canonical: str) -> ExpectCommand:
    """Parse ``expect request|hit|moves ...`` (``args`` starts with the form's word)."""
    what, rest = args[0], args[1:]
    if what.text in ("running", "waiting"):
        for tok in rest:
            _check_name(tok)
        return ExpectCommand(what.text, names=tuple(t.text for t in rest), text=canonical)
    if what.text == "preempted":
        if len(rest) != 1:
            where = rest[1].column if len(rest) > 1 else len(text.rstrip()) + 1
            raise ParseError(f"usage: {REQUEST_EXPECTS['preempted']} at column {where}", where)
        return ExpectCommand("preempted", number=block_id(rest[0], "count"), text=canonical)
    if what.text == "hit":
        if len(rest) != 1:
            where = rest[1].column if len(rest) > 1 else len(text.rstrip()) + 1
            raise ParseError(f"usage: {REQUEST_EXPECTS['hit']} at column {where}", where)
        return ExpectCommand("hit", number=block_id(rest[0], "count"), text=canonical)
    if what.text == "moves":
        for tok in rest:
            if tok.text not in KINDS:
                raise err(f"expect moves lists use, deref or promote, got '{tok.text}'", tok)
        return ExpectCommand("moves", names=tuple(t.text for t in rest), text=canonical)
    if not rest:
        where = len(text.rstrip()) + 1
        raise ParseError(f"usage: {REQUEST_EXPECTS['request']} at column {where}", where)
    name = rest[0]
    _check_name(name)
    names = [name.text]
    counts: list[tuple[str, int]] = []
    ttft: float | None = None
    for i, tok in enumerate(rest[1:]):
        key, sep, value = tok.text.partition("=")
        if not sep:
            if i == 0 and tok.text in STATES:
                names.append(tok.text)
                continue
            raise err(f"expect request takes a state ({', '.join(STATES)}) then KEY=N, got '{tok.text}'",
                       tok)
        if key not in FIGURES:
            keys = ", ".join(k + ("=MS" if k == "ttft" else "=N") for k in FIGURES)
            raise err(f"expect request takes {keys}, got '{tok.text}'", tok)
        spot = Token(value, tok.column + len(key) + 1)
        if key == "ttft":
            if not NUMBER.match(value):
                raise err(f"bad time '{value}' (a decimal number of milliseconds >= 0)", spot)
            ttft = float(value)
        else:
            counts.append((key, block_id(spot, "count")))
    return ExpectCommand("request", names=tuple(names), counts=tuple(counts), number=ttft, text=canonical)


def _check_name(tok: Token) -> None:
    if not all(c.isascii() and (c.isalnum() or c in "_-") for c in tok.text):
        raise err(f"bad request name '{tok.text}' (letters, digits, _ and -)", tok)


def request_expect_problem(expect: ExpectCommand, world: World, last: MoveResult | None) -> str | None:
    """What does not hold, or None when the expectation holds."""
    if expect.what == "request":
        return _request_problem(expect, world)
    if expect.what in ("running", "waiting"):
        return _queue_problem(expect, world)
    if expect.what == "preempted":
        report = last.passes[-1] if isinstance(last, PassResult) and last.passes else None
        if report is None:
            return f"'{expect.text}' needs a pass (or drain) before it"
        if len(report.preempted) != expect.number:
            names = " ".join(report.preempted) or "none"
            got = len(report.preempted)
            return f"expected {expect.number:g} preemption(s) in the previous pass, got {got} ({names})"
        return None
    if last is None:
        return f"'{expect.text}' needs a command before it"
    if expect.what == "moves":
        seen = [_kind(move) for move, _ in last.expanded]
        if list(expect.names) != seen:
            return f"expected moves [{' '.join(expect.names)}], got [{' '.join(seen)}]"
        return None
    found = first_use(last)
    if found is None:
        return f"'{expect.text}' needs a request command that uses blocks before it"
    hit = prefix_hit(*found)
    if hit != expect.number:
        return f"expected a prefix hit of {expect.number:g} block(s), got {hit}"
    return None


def _request_problem(expect: ExpectCommand, world: World) -> str | None:
    name = expect.names[0]
    mgr = world.manager
    req = world.requests.requests.get(name)
    if req is None:
        return f"no request named '{name}'"
    if len(expect.names) > 1 and req.state != expect.names[1]:
        return f"expected request {name} {expect.names[1]}, got {req.state}"
    seq = req.seq
    figures = {
        "tokens": len(seq),
        "generated": seq.generated_tokens,
        "allocated": seq.num_allocated_tokens,
        "held": req.held_blocks,
        "cached": mgr.prefill_cost(list(seq.full_block_ids())).cached_blocks,
        "computed": req.sched.computed if req.sched is not None else seq.num_allocated_tokens,
        "preemptions": req.preemptions,
    }
    for key, value in expect.counts:
        if figures[key] != value:
            return f"expected request {name} {key}={value}, got {key}={figures[key]}"
    if expect.number is not None:
        want = expect.number
        got = req.sched.ttft_ms if req.sched is not None else None
        if got is None:
            return f"expected request {name} ttft={fmt_ms(want)}, but it has no first token yet"
        if abs(got - want) > 1e-6 * max(1.0, want):
            return f"expected request {name} ttft={fmt_ms(want)}, got ttft={got:.6f}"
    return None


def _queue_problem(expect: ExpectCommand, world: World) -> str | None:
    sched = world.scheduler
    if sched is None:
        return f"'{expect.text}' needs the scheduler (a `scheduler:` section in the config)"
    seen = list(sched.running if expect.what == "running" else sched.waiting)
    if list(expect.names) != seen:
        return f"expected {expect.what} [{' '.join(expect.names)}], got [{' '.join(seen)}]"
    return None


def _kind(move: Use | Deref | Promote) -> str:
    if isinstance(move, Use):
        return "use"
    return "deref" if isinstance(move, Deref) else "promote"
