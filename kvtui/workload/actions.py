"""Request actions: what a request command asks of the workload (built by kvtui.lang's parser).

Each prints back as the canonical command text, so a step's text always re-parses to the same
action. The workload executes them (kvtui.workload.requests); it never parses text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewRequest:
    """``req NAME tokens|text|share ...``: register a request (no block is touched)."""

    name: str
    source: str  # tokens | text | share
    tokens: tuple[int, ...] = ()  # the prompt (tokens and text forms)
    text: str = ""  # text form: the string as typed (unescaped)
    other: str = ""  # share form: the request whose prefix is shared
    shared: int = 0  # share form: K
    length: int = 0  # share form: N

    def __str__(self) -> str:
        if self.source == "tokens":
            return f"req {self.name} tokens " + " ".join(map(str, self.tokens))
        if self.source == "text":
            return f"req {self.name} text {quote(self.text)}"
        return f"req {self.name} share {self.other} {self.shared} {self.length}"


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

    def __str__(self) -> str:
        text = "visit " + " ".join(map(str, self.blocks))
        return text + ("" if self.input_tokens is None else f" input={self.input_tokens}")


RequestCommand = NewRequest | RequestAction | VisitCommand
REQUEST_COMMAND_TYPES = (NewRequest, RequestAction, VisitCommand)


def quote(text: str) -> str:
    """``text`` as a double-quoted string that :func:`parse_request` reads back exactly."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
