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
from kvtui.lang.commands import Command, ExpectCommand, parse
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


@dataclass(slots=True)
class Step:
    """One command of a session, plus the notes and checks that follow it."""

    text: str
    line: int | None = None  # None for a typed command
    command: Command | None = None
    error: str | None = None  # parse error, raised when the step is reached
    typed: bool = False
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


@dataclass(slots=True)
class Script:
    path: str
    name: str
    description: str
    config: Config
    steps: list[Step]
    intro: Step  # notes and checks before the first command (its text is empty)
    config_lines: dict[str, int] = field(default_factory=dict)


def make_step(text: str, line: int | None, typed: bool = False) -> Step:
    try:
        return Step(text, line, parse(text), typed=typed)
    except ParseError as exc:
        return Step(text, line, None, str(exc), typed=typed)


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
            if isinstance(step.command, ExpectCommand):
                owner.checks.append(Check(line, value, step.command))
            elif step.command is None and value.split()[:1] == ["expect"]:
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
