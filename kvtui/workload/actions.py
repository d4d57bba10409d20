"""Request actions: what a request command asks of the workload (built by kvtui.lang's parser).

Each prints back as the canonical command text, so a step's text always re-parses to the same
action. The workload executes them (kvtui.workload.requests); it never parses text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

TRACE_TOKENS_PER_ID = 512
"""Mooncake traces: one hash id stands for 512 prompt tokens (SPEC §14)."""


@dataclass(frozen=True, slots=True)
class NewRequest:
    """``req NAME tokens|text|share|trace ... [out=N] [at=MS]``: register a request.

    No block is touched. With a scheduler, the request is queued to arrive at ``at`` (default:
    the clock now) and generate ``out`` tokens (default 16); without one ``out``/``at`` are
    errors.
    """

    name: str
    source: str  # tokens | text | share | trace
    tokens: tuple[int, ...] = ()  # the prompt (tokens and text forms)
    text: str = ""  # text form: the string as typed (unescaped)
    other: str = ""  # share form: the request whose prefix is shared
    shared: int = 0  # share form: K
    length: int = 0  # share form: N; trace form: input tokens
    ids: tuple[int, ...] = ()  # trace form: Mooncake hash ids
    out: int | None = None
    at: float | None = None

    def __str__(self) -> str:
        if self.source == "tokens":
            text = f"req {self.name} tokens " + " ".join(map(str, self.tokens))
        elif self.source == "text":
            text = f"req {self.name} text {quote(self.text)}"
        elif self.source == "trace":
            text = f"req {self.name} trace " + " ".join(map(str, self.ids)) + f" input={self.length}"
        else:
            text = f"req {self.name} share {self.other} {self.shared} {self.length}"
        if self.out is not None:
            text += f" out={self.out}"
        if self.at is not None:
            text += f" at={fmt_ms(self.at)}"
        return text


def trace_tokens(ids: tuple[int, ...], length: int) -> list[int]:
    """Upstream ``synthesize_tokens``: each hash id becomes 512 copies of ``id as u32``, the
    whole cut to ``length`` tokens (so prompts share a token prefix exactly when they share a
    hash-id prefix)."""
    tokens: list[int] = []
    for block in ids:
        tokens.extend([block & 0xFFFFFFFF] * TRACE_TOKENS_PER_ID)
        if len(tokens) >= length:
            break
    del tokens[length:]
    return tokens


@dataclass(frozen=True, slots=True)
class PassCommand:
    """``pass [N]``: run N scheduler passes (default 1)."""

    count: int = 1

    def __str__(self) -> str:
        return "pass" if self.count == 1 else f"pass {self.count}"


@dataclass(frozen=True, slots=True)
class DrainCommand:
    """``drain``: run passes until every submitted request has finished."""

    def __str__(self) -> str:
        return "drain"


@dataclass(frozen=True, slots=True)
class RequestAction:
    """``prefill|decode|preempt|resume|finish NAME [N]``."""

    verb: str
    name: str
    amount: int | None = None  # prefill: CHUNK tokens; decode: N tokens

    def __str__(self) -> str:
        return f"{self.verb} {self.name}" + ("" if self.amount is None else f" {self.amount}")


@dataclass(frozen=True, slots=True)
class VisitCommand:
    """``visit ID ... [input=N]``: use the chain then release it tail-first (one trace request).

    ``input`` (the request's input token count) is not used by the manager; it travels with
    the step so a trace player can compute token hit figures.
    """

    blocks: tuple[int, ...]
    input_tokens: int | None = None
    # True when built from a loaded trace, whose loader checked the ids are distinct plain ints
    checked: bool = field(default=False, compare=False)

    def __str__(self) -> str:
        text = "visit " + " ".join(map(str, self.blocks))
        return text + ("" if self.input_tokens is None else f" input={self.input_tokens}")


RequestCommand = NewRequest | RequestAction | VisitCommand | PassCommand | DrainCommand
REQUEST_COMMAND_TYPES = (NewRequest, RequestAction, VisitCommand, PassCommand, DrainCommand)


def quote(text: str) -> str:
    """``text`` as a double-quoted string that :func:`parse_request` reads back exactly."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fmt_ms(ms: float) -> str:
    """Plain decimal that re-parses to exactly ``ms`` (as kvtui.lang.syntax.fmt_ms)."""
    text = format(Decimal(repr(ms)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
