"""A YAML loader with limits: what a script file may cost to read is bounded by its size.

PyYAML's SafeLoader follows the YAML 1.1 spec, which lets a 466-byte file describe a list of
a billion items through nested aliases (`[*x, *x, …]`), turns a 4,301-digit literal into an
int that cannot be printed, and silently reads `020` as 16 and `1:00` as 60. This loader:

* charges every alias the size of the node it repeats (nodes plus scalar characters) and
  refuses a file whose aliases add more than ``MAX_ALIAS_WEIGHT`` (or use more than
  ``MAX_ALIASES`` aliases), naming the line of the alias that went over;
* refuses an alias used inside its own anchor (a recursive value);
* refuses integer literals longer than ``MAX_INT_CHARS`` before ``int()`` sees them;
* refuses the YAML 1.1 forms YAML 1.2 reads differently: a leading-zero octal (`020`) and
  base-60 numbers (`1:00`), so a value never means something other than it looks.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.cyaml import CParser  # type: ignore[attr-defined]
from yaml.events import AliasEvent
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

MAX_ALIASES = 1_000
MAX_ALIAS_WEIGHT = 100_000  # nodes + scalar characters repeated by aliases, summed
MAX_INT_CHARS = 100  # a 64-bit id has 20 digits

_OCTAL_1_1 = re.compile(r"[-+]?0[0-7_]+\Z")  # YAML 1.1 octal; YAML 1.2 uses 0o
_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?\Z")


class AliasBudgetError(ComposerError):
    """Aliases that would expand the document beyond the budget (or into itself)."""


class BoundedComposer(Composer):
    """Composer with an alias budget (mixed into a loader before its parser)."""

    def __init__(self) -> None:
        super().__init__()
        self.alias_count = 0
        self.alias_weight = 0
        self._weights: dict[int, int] = {}
        self._open: set[str] = set()  # anchors of collections being composed (alias = recursion)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            event = self.peek_event()  # type: ignore[attr-defined]
            target = self.anchors.get(event.anchor)
            if target is not None:
                self._charge(target, event)
        return super().compose_node(parent, index)

    def compose_sequence_node(self, anchor: Any) -> Any:
        return self._composing(super().compose_sequence_node, anchor)

    def compose_mapping_node(self, anchor: Any) -> Any:
        return self._composing(super().compose_mapping_node, anchor)

    def _composing(self, compose: Any, anchor: Any) -> Any:
        if anchor is None:
            return compose(anchor)
        self._open.add(anchor)
        try:
            return compose(anchor)
        finally:
            self._open.discard(anchor)

    def _charge(self, target: yaml.Node, event: AliasEvent) -> None:
        if event.anchor in self._open:
            raise AliasBudgetError(
                None, None, f"alias *{event.anchor} is used inside its own anchor (a value "
                "cannot contain itself)", event.start_mark,  # type: ignore[arg-type]
            )
        self.alias_count += 1
        self.alias_weight += self._weight(target)
        if self.alias_count > MAX_ALIASES or self.alias_weight > MAX_ALIAS_WEIGHT:
            raise AliasBudgetError(
                None, None, f"YAML aliases expand the file too much (more than {MAX_ALIASES:,} "
                f"aliases or {MAX_ALIAS_WEIGHT:,} repeated nodes and characters); write the "
                "values out", event.start_mark,  # type: ignore[arg-type]
            )

    def _weight(self, node: yaml.Node) -> int:
        """Nodes plus scalar characters under ``node`` (memoised: shared subtrees count once
        per use, computed once)."""
        known = self._weights.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.ScalarNode):
            weight = 1 + len(node.value)
        elif isinstance(node, yaml.SequenceNode):
            weight = 1 + sum(self._weight(child) for child in node.value)
        else:
            weight = 1 + sum(self._weight(k) + self._weight(v) for k, v in node.value)
        weight = min(weight, MAX_ALIAS_WEIGHT + 1)  # enough to refuse; keeps the sums small
        self._weights[id(node)] = weight
        return weight

class BoundedConstructor(SafeConstructor):
    """SafeConstructor with capped integer literals and no YAML 1.1 octal/base-60 readings."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(node.value)
        if len(text) > MAX_INT_CHARS:
            raise ConstructorError(
                None, None, f"an integer literal of {len(text):,} characters is too long "
                f"(at most {MAX_INT_CHARS})", node.start_mark
            )
        _refuse_yaml_1_1(text, node, "integer")
        return int(super().construct_yaml_int(node))

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        _refuse_yaml_1_1(str(node.value), node, "number")
        return float(super().construct_yaml_float(node))


def _refuse_yaml_1_1(text: str, node: yaml.ScalarNode, what: str) -> None:
    if _OCTAL_1_1.match(text) and text.lstrip("+-").strip("0_"):
        raise ConstructorError(
            None, None, f"ambiguous {what} {text}: YAML 1.1 reads a leading 0 as octal; "
            f"write it without the 0 (or 0o… for octal, or quote it)", node.start_mark
        )
    if _BASE_60.match(text):
        raise ConstructorError(
            None, None, f"ambiguous {what} {text}: YAML 1.1 reads it in base 60; "
            "quote it or write the number", node.start_mark
        )


BoundedConstructor.add_constructor("tag:yaml.org,2002:int", BoundedConstructor.construct_yaml_int)  # type: ignore[type-var]
BoundedConstructor.add_constructor(  # type: ignore[type-var]
    "tag:yaml.org,2002:float", BoundedConstructor.construct_yaml_float
)


class BoundedLoader(Reader, Scanner, Parser, BoundedComposer, BoundedConstructor, Resolver):
    """The pure-Python SafeLoader with the limits above (its error messages are the reference)."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        BoundedComposer.__init__(self)
        BoundedConstructor.__init__(self)
        Resolver.__init__(self)


class FastBoundedLoader(BoundedComposer, CParser, BoundedConstructor, Resolver):
    """The same limits over libyaml's event parser: the Python composer keeps the alias budget
    (and lets a caller compose one item at a time). Used to stream long scripts."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        BoundedComposer.__init__(self)
        BoundedConstructor.__init__(self)
        Resolver.__init__(self)
