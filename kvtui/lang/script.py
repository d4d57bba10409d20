"""Script files (SPEC §9): YAML with a line number kept for every key and step.

Everything that can be checked without running is checked here and reported as
``FILE:LINE: message`` (YAML syntax, unknown keys, wrong types, out-of-range config). A step's
command is parsed here too, but a bad command is kept with its error and raised only when the
step is reached, so a headless run can still report every good step before it (SPEC §11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kvtui.lang.bounded_yaml import AliasBudgetError, BoundedConstructor, BoundedLoader
from kvtui.lang.commands import Command, ExpectCommand, parse, parse_plain, reparse_plain
from kvtui.sim.config import Config, ConfigError, config_from_mapping
from kvtui.sim.errors import ParseError, ScriptError, brief

TOP_KEYS = ("name", "description", "config", "steps")


@dataclass(slots=True)
class Check:
    """An `expect` line attached to the command before it (or to the start)."""

    line: int | None
    text: str
    expect: ExpectCommand | None = None
    error: str | None = None


class Step:
    """One command of a session, plus the notes and checks that follow it.

    A long session keeps every step (100,000 of them in the history benchmark), so a step is
    kept small. Why each choice:

    * A plain `use`/`deref` line (decimal ids only) keeps only its text: its parsed command (a
      tuple of ids plus two small objects, ~550 bytes for 12 ids) is built again from the text
      when asked for, unchecked since the line parsed when the step was made
      (kvtui.lang.commands.reparse_plain: ~2.5 µs for 12 ids, against ~25 µs to replay the
      step and ~50 µs to apply it the first time).
    * A step without notes or checks holds no lists: `notes` and `checks` read as an empty list
      kept nowhere (`_Unkept`), which keeps itself on the step when first changed.
    """

    __slots__ = ("text", "line", "_command", "error", "typed", "_notes", "_checks")

    def __init__(
        self,
        text: str,
        line: int | None = None,  # None for a typed command
        command: Command | None = None,
        error: str | None = None,  # parse error, raised when the step is reached
        typed: bool = False,
        notes: list[str] | None = None,
        checks: list[Check] | None = None,
    ) -> None:
        self.text = text
        self.line = line
        self._command: Command | object | None = command
        self.error = error
        self.typed = typed
        self._notes = notes
        self._checks = checks

    @property
    def command(self) -> Command | None:
        """The parsed command (None for the intro or a line that does not parse)."""
        command = self._command
        if command is _FROM_TEXT:
            return reparse_plain(self.text)  # ~2.5 µs for 12 ids: replays read it once a step
        return command  # type: ignore[return-value]

    @command.setter
    def command(self, command: Command | None) -> None:
        self._command = command

    @property
    def notes(self) -> list[str]:
        notes = self._notes
        return notes if notes is not None else _Unkept(self, "_notes")

    @notes.setter
    def notes(self, notes: list[str]) -> None:
        self._notes = notes

    @property
    def checks(self) -> list[Check]:
        checks = self._checks
        return checks if checks is not None else _Unkept(self, "_checks")

    @checks.setter
    def checks(self, checks: list[Check]) -> None:
        self._checks = checks

    def copy(self) -> Step:
        """The same step with notes and checks lists of its own (to attach a typed expect to)."""
        twin = Step(self.text, self.line, None, self.error, self.typed, list(self.notes), list(self.checks))
        twin._command = self._command
        return twin

    def _key(self) -> tuple[Any, ...]:
        return (self.text, self.line, self.command, self.error, self.typed, self.notes, self.checks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Step):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable (notes, checks), like the dataclass was

    def __repr__(self) -> str:
        values = zip(_STEP_FIELDS, self._key(), strict=True)
        return "Step(" + ", ".join(f"{name}={value!r}" for name, value in values) + ")"


_STEP_FIELDS = ("text", "line", "command", "error", "typed", "notes", "checks")


_FROM_TEXT = object()
"""A step's command slot when the command is parsed again from its text on each read."""
LAZY_TEXT = 1_000
"""Longest plain `use`/`deref` line whose command is parsed again on each read: a longer one
(rare) keeps its command, since parsing it on every replay costs about as much as applying it."""


class _Unkept(list[Any]):
    """The notes or checks of a step that has none: an empty list kept nowhere, so reading every
    step's notes allocates nothing lasting. The first change that adds to it keeps it on its step
    (then it is the step's own list, as a dataclass field would have been)."""

    __slots__ = ("_step", "_name")

    def __init__(self, step: Step, name: str) -> None:
        super().__init__()
        self._step: Step | None = step
        self._name = name

    def _keep(self) -> None:
        step = self._step
        if step is not None:
            self._step = None  # no step <-> list reference cycle once kept
            if getattr(step, self._name) is None:
                setattr(step, self._name, self)

    def append(self, item: Any) -> None:
        self._keep()
        super().append(item)

    def extend(self, items: Any) -> None:
        self._keep()
        super().extend(items)

    def insert(self, index: Any, item: Any) -> None:
        self._keep()
        super().insert(index, item)

    def __iadd__(self, items: Any) -> _Unkept:  # type: ignore[misc]
        self._keep()
        return super().__iadd__(items)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._keep()
        super().__setitem__(index, value)


@dataclass(slots=True)
class Script:
    path: str
    name: str
    description: str
    config: Config
    steps: list[Step]
    intro: Step  # notes and checks before the first command (its text is empty)
    config_lines: dict[str, int] = field(default_factory=dict)


def make_step(text: str, line: int | None, typed: bool = False, keep: bool = False) -> Step:
    """The step of one command line, parsed now (a bad line keeps its error for later).

    A plain `use`/`deref` line keeps only its text (see Step) unless `keep`: a step applied
    once and dropped (a streamed headless run) keeps its command rather than parse it twice.
    """
    plain = parse_plain(text)
    if plain is not None:
        step = Step(text, line, plain, typed=typed)
        if not keep and len(text) <= LAZY_TEXT:
            step._command = _FROM_TEXT
        return step
    try:
        return Step(text, line, parse(text), typed=typed)
    except ParseError as exc:
        return Step(text, line, None, str(exc), typed=typed)


def _expect_of(step: Step) -> ExpectCommand | None:
    """The step's command if it is an expect (read without parsing a `use` line again)."""
    command = step._command
    return command if isinstance(command, ExpectCommand) else None


def load_script(path: str | Path) -> Script:
    """Load a script file, or raise ScriptError(FILE:LINE: message)."""
    return load_script_text(read_script_text(path), str(path), default_name=Path(path).stem)


def read_script_text(path: str | Path) -> str:
    """A script file's text, or ScriptError(FILE: cannot read script: why)."""
    label = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(label, 0, f"cannot read script: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 ({exc.reason} at byte {exc.start})"
        raise ScriptError(label, 0, f"cannot read script: {reason}") from None


def load_script_text(text: str, label: str, default_name: str = "script") -> Script:
    try:
        loader = BoundedLoader(text)  # the reader already rejects control characters
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ScriptError(label, line, f"YAML syntax error: {str(exc).splitlines()[0]}") from None
    try:
        root = loader.get_single_node()
    except AliasBudgetError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
        raise ScriptError(label, line, str(exc.problem)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        if context and problem.startswith("but "):  # "expected a single document …, but found …"
            problem = f"{context}, {problem}"
        raise ScriptError(label, line, f"YAML syntax error: {problem}") from None
    except RecursionError:
        raise ScriptError(label, 1, "YAML syntax error: nested too deeply") from None
    finally:
        loader.dispose()
    return _Builder(label, loader).build(root, default_name)


class _Builder:
    def __init__(self, label: str, loader: BoundedConstructor) -> None:
        self.label = label
        self.loader = loader

    def fail(self, node: yaml.Node | None, message: str) -> ScriptError:
        line = node.start_mark.line + 1 if node is not None else 1
        return ScriptError(self.label, line, message)

    def value(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            mark = getattr(exc, "problem_mark", None)  # the offending scalar inside `node`
            line = mark.line + 1 if mark is not None else node.start_mark.line + 1
            raise ScriptError(self.label, line, f"bad value: {problem}") from None
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
            # SafeConstructor lets these escape for explicit tags: `!!int abc`, `!!timestamp x`
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise self.fail(node, f"bad {tag} value {brief(node.value)}") from None
        except RecursionError:
            raise self.fail(node, "value nested too deeply") from None

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.fail(key_node, f"{what} keys must be strings, got {brief(key)}")
            if key in out:
                raise self.fail(key_node, f"duplicate key {brief(key)} in {what}")
            out[key] = (key_node, value_node)
        return out

    def build(self, root: yaml.Node | None, default_name: str) -> Script:
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
            raise self.fail(root, "the script is empty (it needs at least config.capacity)")
        top = self.mapping(root, "the script")
        for key, (key_node, _) in top.items():
            if key not in TOP_KEYS:
                raise self.fail(key_node, f"unknown key {brief(key)} (expected {', '.join(TOP_KEYS)})")
        name = self.text(top.get("name"), "name", default_name)
        description = self.text(top.get("description"), "description", "")
        if "config" not in top:
            raise self.fail(root, "missing required key 'config'")
        config, lines = self.config(top["config"][1])
        intro = Step("")
        steps = self.steps(top["steps"][1], intro) if "steps" in top else []
        return Script(self.label, name, description, config, steps, intro, lines)

    def text(self, entry: tuple[yaml.Node, yaml.Node] | None, key: str, default: str) -> str:
        if entry is None:
            return default
        value = self.value(entry[1])
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(entry[1], f"{key} must be a string, got {type(value).__name__}")
        return value

    def config(self, node: yaml.Node) -> tuple[Config, dict[str, int]]:
        fields = self.mapping(node, "config")
        lines = {key: kn.start_mark.line + 1 for key, (kn, _) in fields.items()}
        data: dict[str, Any] = {key: self.value(vn) for key, (_, vn) in fields.items()}
        for section in ("offload", "scheduler"):
            if section in fields and isinstance(fields[section][1], yaml.MappingNode):
                for key, (kn, _) in self.mapping(fields[section][1], section).items():
                    lines[f"{section}.{key}"] = kn.start_mark.line + 1
        try:
            return config_from_mapping(data), lines
        except ConfigError as exc:
            line = lines.get(exc.key) or lines.get(exc.key.split(".")[0]) or node.start_mark.line + 1
            raise ScriptError(self.label, line, f"config: {exc}") from None

    def steps(self, node: yaml.Node, intro: Step) -> list[Step]:
        if isinstance(node, yaml.ScalarNode) and self.value(node) is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, "steps must be a list of commands")
        steps: list[Step] = []
        for item in node.value:
            owner = steps[-1] if steps else intro
            line = item.start_mark.line + 1
            if isinstance(item, yaml.MappingNode):
                owner.notes.append(self.note(item))
                continue
            value = self.value(item)
            if not isinstance(value, str):
                raise self.fail(item, f"a step must be a command string or 'note: TEXT', got {brief(value)}")
            step = make_step(value, line)
            expect = _expect_of(step)
            if expect is not None:
                owner.checks.append(Check(line, value, expect))
            elif step.error is not None and value.split()[:1] == ["expect"]:
                owner.checks.append(Check(line, value, None, step.error))
            else:
                steps.append(step)
        return steps

    def note(self, node: yaml.Node) -> str:
        fields = self.mapping(node, "a step")
        if list(fields) != ["note"]:
            key_node = next((kn for key, (kn, _) in fields.items() if key != "note"), node)
            raise self.fail(key_node, "a mapping step must be exactly 'note: TEXT'")
        value = self.value(fields["note"][1])
        if not isinstance(value, str):
            raise self.fail(fields["note"][1], "a note must be text")
        return value


def dump_script(script: Script) -> str:
    """Render a script (typed steps included) back to the SPEC §9 YAML format."""
    config = {k: v for k, v in script.config.to_json().items() if v is not None}
    steps: list[Any] = []
    for step in [script.intro, *script.steps]:
        if step is not script.intro:
            steps.append(step.text)
        steps += [{"note": note} for note in step.notes]
        steps += [item.text for item in step.checks]
    data: dict[str, Any] = {"name": script.name}
    if script.description:
        data["description"] = script.description
    data["config"] = config
    data["steps"] = steps
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes text with a NEL (U+0085): PyYAML writes it raw into a
    single-quoted scalar, which reads back as a space."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if "\x85" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
