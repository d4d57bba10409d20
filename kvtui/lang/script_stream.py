"""Long scripts, one step at a time: a headless run need not hold a million steps.

:func:`load_script` composes the whole YAML document and keeps every step; for a script of a
million steps that is gigabytes. :func:`open_stream` reads the file twice instead, holding one
step at a time:

1. a first pass checks everything :func:`load_script` checks (YAML, keys, config, the shape of
   every step) and counts the steps, keeping only the config, name, description and the notes
   and checks before the first command;
2. :meth:`ScriptStream.steps` reads the file again and yields each command step with the notes
   and checks that follow it.

Any error found in the first pass is re-raised by :func:`load_script_text` itself, so messages
(and their FILE:LINE) are exactly those of a full load; only a valid script is streamed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

from kvtui.lang.bounded_yaml import FastBoundedLoader
from kvtui.lang.commands import ExpectCommand
from kvtui.lang.script import (
    TOP_KEYS,
    Check,
    Script,
    Step,
    _Builder,
    load_script_text,
    make_step,
    read_script_text,
)
from kvtui.sim.errors import KvError


class _Invalid(Exception):
    """Something the first pass does not accept: the full loader reports it exactly."""


@dataclass(slots=True)
class ScriptStream:
    """A script whose steps are read on demand (``script.steps`` stays empty)."""

    script: Script
    text: str
    count: int  # command steps
    widest: int = 0  # longest command text (for fixed-width human output)
    _notes: list[str] = field(default_factory=list)

    def steps(self) -> Iterator[Step]:
        """Each command step, with the notes and checks that follow it attached."""
        loader = FastBoundedLoader(self.text)
        builder = _Builder(self.script.path, loader)
        try:
            if not _to_steps(loader, builder):
                return
            pending: Step | None = None
            seen_command = False
            while not loader.check_event(SequenceEndEvent):
                loader.constructed_objects.clear()  # the constructor caches every node it built
                item = loader.compose_node(None, None)
                if isinstance(item, yaml.MappingNode):
                    note = builder.note(item)
                    if pending is not None:
                        pending.notes.append(note)
                    continue
                value = builder.value(item)
                line = item.start_mark.line + 1
                step = make_step(value, line, keep=True)  # applied once, then dropped
                if isinstance(step.command, ExpectCommand) or (
                    step.command is None and value.split()[:1] == ["expect"]
                ):
                    if pending is not None:
                        pending.checks.append(Check(line, value, step.command, step.error))
                    continue
                if pending is not None:
                    yield pending
                pending, seen_command = step, True
            if pending is not None and seen_command:
                yield pending
        finally:
            loader.dispose()


def open_stream(path: str | Path) -> ScriptStream:
    """Check a script file fully and return it ready to stream; raise ScriptError like
    :func:`load_script`."""
    label = str(path)
    text = read_script_text(path)
    try:
        return _first_pass(text, label, Path(path).stem)
    except (_Invalid, yaml.YAMLError, KvError, RecursionError):
        load_script_text(text, label, default_name=Path(path).stem)  # raises the exact error
        raise  # pragma: no cover - the full loader accepted what the first pass did not


def _first_pass(text: str, label: str, default_name: str) -> ScriptStream:
    loader = FastBoundedLoader(text)
    builder = _Builder(label, loader)
    try:
        loader.get_event()
        if not loader.check_event(DocumentStartEvent):
            raise _Invalid
        loader.get_event()
        if not loader.check_event(MappingStartEvent):
            raise _Invalid
        loader.get_event()
        top: dict[str, yaml.Node] = {}
        intro = Step("")
        count = widest = 0
        while not loader.check_event(MappingEndEvent):
            key = builder.value(loader.compose_node(None, None))
            if not isinstance(key, str) or key in top or key not in TOP_KEYS:
                raise _Invalid
            if key == "steps":
                top[key] = yaml.ScalarNode("tag:yaml.org,2002:null", "")
                count, widest = _scan_steps(loader, builder, intro)
                continue
            top[key] = loader.compose_node(None, None)
        loader.get_event()
        if not loader.check_event(DocumentEndEvent):
            raise _Invalid  # a second document
        loader.get_event()
        if not loader.check_event(StreamEndEvent):
            raise _Invalid
        if "config" not in top:
            raise _Invalid
        name = builder.text((top["name"], top["name"]) if "name" in top else None, "name", default_name)
        description = builder.text(
            (top["description"], top["description"]) if "description" in top else None, "description", ""
        )
        config, lines = builder.config(top["config"])
    finally:
        loader.dispose()
    script = Script(label, name, description, config, [], intro, lines)
    return ScriptStream(script, text, count, widest)


def _scan_steps(loader: FastBoundedLoader, builder: _Builder, intro: Step) -> tuple[int, int]:
    """Check every step's shape; count the commands; keep the intro's notes and checks."""
    if not loader.check_event(SequenceStartEvent):
        node = loader.compose_node(None, None)
        if isinstance(node, yaml.ScalarNode) and builder.value(node) is None:
            return 0, 0
        raise _Invalid
    loader.get_event()
    count = widest = 0
    while not loader.check_event(SequenceEndEvent):
        loader.constructed_objects.clear()  # the constructor caches every node it built
        item = loader.compose_node(None, None)
        if isinstance(item, yaml.MappingNode):
            note = builder.note(item)
            if not count:
                intro.notes.append(note)
            continue
        value = builder.value(item)
        if not isinstance(value, str):
            raise _Invalid
        if value.split()[:1] == ["expect"]:
            if not count:
                step = make_step(value, item.start_mark.line + 1)
                intro.checks.append(Check(item.start_mark.line + 1, value, _expect(step), step.error))
            continue
        count += 1
        widest = max(widest, len(value))
    loader.get_event()
    return count, widest


def _expect(step: Step) -> ExpectCommand | None:
    return step.command if isinstance(step.command, ExpectCommand) else None


def _to_steps(loader: FastBoundedLoader, builder: _Builder) -> bool:
    """Advance to the first item of the top-level ``steps`` list (False: there is none)."""
    for expected in (StreamStartEvent, DocumentStartEvent, MappingStartEvent):
        if not loader.check_event(expected):
            return False
        loader.get_event()
    while not loader.check_event(MappingEndEvent):
        key = builder.value(loader.compose_node(None, None))
        if key == "steps":
            if not loader.check_event(SequenceStartEvent):
                return False
            loader.get_event()
            return True
        loader.compose_node(None, None)
    return False
