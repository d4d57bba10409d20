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

Encoding in :class:`ExpectCommand`: ``names`` holds NAME (and STATE) or the move kinds,
``counts`` the key=N pairs, ``number`` the hit count.
"""

from __future__ import annotations

from kvtui.lang.request_parse import REQUEST_EXPECTS
from kvtui.lang.syntax import ExpectCommand, Token, block_id, err
from kvtui.sim.errors import ParseError
from kvtui.sim.manager import MoveResult
from kvtui.sim.moves import Deref, Promote, Use
from kvtui.workload.requests import STATES, first_use, prefix_hit
from kvtui.workload.world import World

FIGURES = ("tokens", "generated", "allocated", "held", "cached")
KINDS = ("use", "deref", "promote")

__all__ = ["REQUEST_EXPECTS", "parse_request_expect", "request_expect_problem"]


def parse_request_expect(text: str, args: list[Token], canonical: str) -> ExpectCommand:
    """Parse ``expect request|hit|moves ...`` (``args`` starts with the form's word)."""
    what, rest = args[0], args[1:]
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
    if not all(c.isascii() and (c.isalnum() or c in "_-") for c in name.text):
        raise err(f"bad request name '{name.text}' (letters, digits, _ and -)", name)
    names = [name.text]
    counts: list[tuple[str, int]] = []
    for i, tok in enumerate(rest[1:]):
        key, sep, value = tok.text.partition("=")
        if not sep:
            if i == 0 and tok.text in STATES:
                names.append(tok.text)
                continue
            raise err(f"expect request takes a state ({', '.join(STATES)}) then KEY=N, got '{tok.text}'",
                       tok)
        if key not in FIGURES:
            raise err(f"expect request takes {', '.join(k + '=N' for k in FIGURES)}, got '{tok.text}'", tok)
        counts.append((key, block_id(Token(value, tok.column + len(key) + 1), "count")))
    return ExpectCommand("request", names=tuple(names), counts=tuple(counts), text=canonical)


def request_expect_problem(expect: ExpectCommand, world: World, last: MoveResult | None) -> str | None:
    """What does not hold, or None when the expectation holds."""
    if expect.what == "request":
        return _request_problem(expect, world)
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
    }
    for key, value in expect.counts:
        if figures[key] != value:
            return f"expected request {name} {key}={value}, got {key}={figures[key]}"
    return None


def _kind(move: Use | Deref | Promote) -> str:
    if isinstance(move, Use):
        return "use"
    return "deref" if isinstance(move, Deref) else "promote"
