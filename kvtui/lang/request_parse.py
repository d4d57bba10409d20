"""Request commands: the syntax (parsing and canonical text) of kvtui's request verbs.

A request is an upstream ``ActiveSequence`` (SPEC §7) driven by typed commands; each command
expands to MoveBlocks applied through the manager (kvtui.workload.requests). This module only
parses; it never touches engine state::

    req NAME tokens TOKEN ...      a request whose prompt is these token ids (u32)
    req NAME text "WORDS ..."      prompt from text: one token per word (hashing.tokenize_text)
    req NAME share OTHER K N       N tokens: OTHER's first K tokens, then N-K tokens of its own
    req NAME trace ID ... input=N  a Mooncake request: 512 tokens per hash id, cut to N tokens
      ... [out=N] [at=MS]          scheduler mode: max output tokens, arrival time (SPEC §13)
    pass [N]                       run N scheduler passes (default 1)
    drain                          run passes until every submitted request has finished
    prefill NAME [CHUNK]           allocate the rest of the known sequence, or its next CHUNK tokens
    decode NAME [N]                generate N tokens (default 1)
    preempt NAME                   release its blocks tail-first, keep its ids
    resume NAME                    re-admit a preempted request: allocate its whole known sequence
    finish NAME                    release every block it holds, tail-first; the request is done
    visit ID ... [input=N]         one trace request: use the chain, then release it tail-first

Errors are :class:`ParseError` naming the offending token and its column, like SPEC §8 commands.
The text form takes one double-quoted string; inside it ``\\"`` is a quote and ``\\\\`` a
backslash.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from kvtui.sim.errors import ParseError, escaped
from kvtui.workload.actions import (
    TRACE_TOKENS_PER_ID,
    DrainCommand,
    NewRequest,
    PassCommand,
    RequestAction,
    RequestCommand,
    VisitCommand,
)
from kvtui.workload.hashing import U32_MAX, tokenize_text

MAX_ID = 2**64 - 1
MAX_TOKENS = 1_000_000
"""Upper bound of CHUNK, decode N, share N and input=N (a typing-mistake guard)."""

REQUEST_VERBS = ("req", "prefill", "decode", "preempt", "resume", "finish", "visit", "pass", "drain")
SOURCES = ("tokens", "text", "share", "trace")
REQUEST_USAGE = {
    "req": (
        'req NAME tokens TOKEN ... | req NAME text "WORDS ..." | req NAME share OTHER K N | '
        "req NAME trace ID ... input=N [out=N] [at=MS]",
        "a request: its prompt tokens, text (one token per word), OTHER's first K of N tokens, or "
        "a Mooncake request (512 tokens per hash id, cut to N; out= and at= in scheduler mode)",
    ),
    "prefill": ("prefill NAME [CHUNK]", "allocate the rest of the known sequence, or its next CHUNK tokens"),
    "decode": ("decode NAME [N]", "generate N tokens (default 1)"),
    "preempt": ("preempt NAME", "release its blocks tail-first, keep its ids"),
    "resume": ("resume NAME", "re-admit a preempted request: allocate its whole known sequence"),
    "finish": ("finish NAME", "release every block it holds, tail-first; the request is done"),
    "visit": ("visit ID ... [input=N]", "one trace request: use the chain, then release it tail-first"),
    "pass": ("pass [N]", "run N scheduler passes (default 1)"),
    "drain": ("drain", "run passes until every submitted request has finished"),
}
"""Each request verb's syntax and effect (the in-app help is generated from this table)."""
REQUEST_EXPECTS = {
    "request": "expect request NAME [STATE] [tokens=N] [generated=N] [allocated=N] [held=N] [cached=N] "
    "[computed=N] [preemptions=N] [ttft=MS]",
    "hit": "expect hit N",
    "moves": "expect moves [use|deref|promote ...]",
    "running": "expect running [NAME ...]",
    "waiting": "expect waiting [NAME ...]",
    "preempted": "expect preempted N",
}
"""kvtui's request `expect` forms (parsed and checked by kvtui.lang.request_expect)."""

_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|\S+', re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    column: int  # 1-based


def _scan(text: str) -> list[_Tok]:
    """Whitespace-separated tokens; a token starting with ``"`` runs to its closing quote."""
    return [_Tok(m.group(), m.start() + 1) for m in _TOKEN.finditer(text)]


def _err(message: str, tok: _Tok) -> ParseError:
    safe = escaped(tok.text)  # control characters escaped; KvError shortens the message
    message = message if safe == tok.text else message.replace(tok.text, safe)
    return ParseError(f"{message} at column {tok.column}", tok.column)


def _end(text: str) -> int:
    return len(text.rstrip()) + 1


def _missing(message: str, text: str) -> ParseError:
    where = _end(text)
    return ParseError(f"{message} at column {where}", where)


def _name(tok: _Tok, what: str = "request name") -> str:
    if not _NAME.match(tok.text):
        raise _err(f"bad {what} '{tok.text}' (letters, digits, _ and -)", tok)
    return tok.text


def _int(tok: _Tok, what: str, low: int, high: int, hint: str) -> int:
    if not _DIGITS.match(tok.text) or len(tok.text.lstrip("0")) > len(str(high)):
        raise _err(f"bad {what} '{tok.text}' ({hint})", tok)  # checked before int(): 4,301 digits raise
    value = int(tok.text)
    if not low <= value <= high:
        raise _err(f"bad {what} '{tok.text}' ({hint})", tok)
    return value


def _count(tok: _Tok, what: str, low: int = 1) -> int:
    return _int(tok, what, low, MAX_TOKENS, f"an integer in {low}..{MAX_TOKENS:_}")


def _block_id(tok: _Tok) -> int:
    return _int(tok, "block id", 0, MAX_ID, "an integer in 0..2^64-1")


def _unquote(tok: _Tok) -> str:
    raw = tok.text
    if len(raw) < 2 or not raw.endswith('"') or _escaped_end(raw):
        raise _err('unterminated text (a closing " is missing)', tok)
    out: list[str] = []
    body = raw[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1]  # the scanner never ends a string on a lone backslash
            if nxt not in '"\\':
                raise ParseError(
                    f"bad escape '\\{nxt}' in text (only \\\" and \\\\) at column {tok.column + i + 1}",
                    tok.column + i + 1,
                )
            out.append(nxt)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _escaped_end(raw: str) -> bool:
    """True when the final quote of ``raw`` is escaped (an odd run of backslashes before it)."""
    run = len(raw) - 1 - len(raw[:-1].rstrip("\\"))
    return run % 2 == 1


def parse_request(text: str) -> RequestCommand:
    """Parse one request command line (the verb is one of :data:`REQUEST_VERBS`)."""
    toks = _scan(text)
    if not toks:
        raise ParseError("empty command", 1)
    verb, args = toks[0], toks[1:]
    if verb.text == "req":
        return _req(text, args)
    if verb.text == "visit":
        return _visit(text, args)
    if verb.text == "pass":
        if len(args) > 1:
            raise _err(f"unexpected '{args[1].text}' (usage: pass [N])", args[1])
        return PassCommand(_count(args[0], "pass count") if args else 1)
    if verb.text == "drain":
        if args:
            raise _err(f"unexpected '{args[0].text}' (drain takes nothing)", args[0])
        return DrainCommand()
    if verb.text not in REQUEST_VERBS:
        raise _err(f"unknown request command '{verb.text}'", verb)
    if not args:
        raise _missing(f"{verb.text} needs a request NAME", text)
    name = _name(args[0])
    takes = {"prefill": "CHUNK", "decode": "N"}.get(verb.text)
    limit = 2 if takes else 1
    if len(args) > limit:
        usage = f"{verb.text} NAME" + (f" [{takes}]" if takes else "")
        raise _err(f"unexpected '{args[limit].text}' (usage: {usage})", args[limit])
    amount = None
    if len(args) == 2:
        amount = _count(args[1], "chunk size" if verb.text == "prefill" else "token count")
    return RequestAction(verb.text, name, amount)


_NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)\Z", re.ASCII)
MAX_AT = 1e15


def _req(text: str, args: list[_Tok]) -> NewRequest:
    """``req`` with its scheduler options (``out=N``, ``at=MS``) taken from anywhere after the
    name; the rest is the source."""
    rest: list[_Tok] = []
    options: dict[str, int | float] = {}
    for tok in args:
        key, sep, value = tok.text.partition("=")
        if not sep or key not in ("out", "at") or tok is (args[0] if args else None):
            rest.append(tok)
            continue
        if key in options:
            raise _err(f"second {key}= '{tok.text}'", tok)
        where = _Tok(value, tok.column + len(key) + 1)
        if key == "out":
            options[key] = _count(where, "output token count")
        elif not _NUMBER.match(value) or float(value) > MAX_AT:
            raise _err(f"bad arrival time '{value}' (a decimal number of milliseconds >= 0)", where)
        else:
            options[key] = float(value)
    out = options.get("out")
    at = options.get("at")
    request = _req_source(text, rest)
    return dataclasses.replace(
        request, out=None if out is None else int(out), at=None if at is None else float(at)
    )


def _req_source(text: str, args: list[_Tok]) -> NewRequest:
    if not args:
        raise _missing("req needs NAME and a source (tokens, text or share)", text)
    name = _name(args[0])
    if len(args) == 1:
        raise _missing("req needs a source after the name (tokens, text or share)", text)
    source, rest = args[1], args[2:]
    if source.text == "tokens":
        if not rest:
            raise _missing("req tokens needs at least one token", text)
        tokens = tuple(_int(t, "token", 0, U32_MAX, "an integer in 0..4294967295") for t in rest)
        return NewRequest(name, "tokens", tokens)
    if source.text == "text":
        if not rest:
            raise _missing('req text needs a double-quoted string ("...")', text)
        if not rest[0].text.startswith('"'):
            raise _err(f"req text needs a double-quoted string, got '{rest[0].text}'", rest[0])
        words = _unquote(rest[0])
        if len(rest) > 1:
            raise _err(f"unexpected '{rest[1].text}' after the text", rest[1])
        tokens = tuple(tokenize_text(words))
        if not tokens:
            raise _err("the text has no words (a request needs at least one token)", rest[0])
        return NewRequest(name, "text", tokens, text=words)
    if source.text == "share":
        if len(rest) != 3:
            where = rest[3].column if len(rest) > 3 else _end(text)
            raise ParseError(f"usage: req NAME share OTHER K N at column {where}", where)
        other = _name(rest[0])
        shared = _count(rest[1], "shared prefix length", low=0)
        length = _count(rest[2], "token count")
        if shared > length:
            raise _err(f"the request has {length} tokens, fewer than the {shared} it shares", rest[2])
        return NewRequest(name, "share", other=other, shared=shared, length=length)
    if source.text == "trace":
        return _trace_source(text, name, rest)
    raise _err(f"unknown request source '{source.text}' (expected {', '.join(SOURCES)})", source)


def _trace_source(text: str, name: str, rest: list[_Tok]) -> NewRequest:
    ids: list[int] = []
    length: int | None = None
    for tok in rest:
        if tok.text.startswith("input="):
            if length is not None:
                raise _err(f"second input= '{tok.text}'", tok)
            value = _Tok(tok.text[len("input="):], tok.column + len("input="))
            length = _int(value, "input token count", 1, 2**40, "an integer >= 1")
        else:
            ids.append(_block_id(tok))
    if not ids:
        raise _missing("req trace needs at least one hash id", text)
    capacity = len(ids) * TRACE_TOKENS_PER_ID
    length = capacity if length is None else length
    if length > capacity:
        raise _missing(
            f"req trace: input={length} needs more than {len(ids)} hash id(s) of "
            f"{TRACE_TOKENS_PER_ID} tokens",
            text,
        )
    if len(set(ids)) != len(ids):
        raise _missing("req trace: a hash id appears twice", text)
    return NewRequest(name, "trace", ids=tuple(ids), length=length)


def _visit(text: str, args: list[_Tok]) -> VisitCommand:
    blocks: list[int] = []
    input_tokens: int | None = None
    seen = False
    for tok in args:
        if tok.text.startswith("input="):
            if seen:
                raise _err(f"second input= '{tok.text}'", tok)
            seen = True
            value = _Tok(tok.text[len("input="):], tok.column + len("input="))
            input_tokens = _int(value, "input token count", 0, 2**63 - 1, "a non-negative integer")
        else:
            blocks.append(_block_id(tok))
    if not blocks:
        raise _missing("visit needs at least one block", text)
    return VisitCommand(tuple(blocks), input_tokens)
