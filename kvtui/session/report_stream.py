"""The SPEC §10 JSON report written as a run goes, byte for byte what ``dumps(build_report())``
gives, without holding the results and events of every step.

Each step's result entry and events are serialised as they come and spooled to temporary
files; at the end the report's small parts (name, counts, config, pools) are dumped around
them. Memory stays flat; the bytes equal ``json.dumps(report, indent=2, ensure_ascii=False)``
because every entry is dumped with the same indent and placed at the depth json would put it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from typing import IO, Any

from kvtui.lang.script import Step
from kvtui.session.headless import HeadlessRun
from kvtui.session.report import add_tail, event_entries, g1_json, result_entry
from kvtui.session.session import StepError
from kvtui.sim.manager import MoveResult

_ITEM_INDENT = " " * 4  # entries of a top-level list sit two levels deep


class ReportSpool:
    def __init__(self) -> None:
        self.results: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.events: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.counts = {"results": 0, "events": 0}
        self.tag = secrets.token_hex(8)

    def add(self, number: int, step: Step, result: MoveResult) -> None:
        """The sink of a HeadlessRun: one step's result entry and its events."""
        self._put("results", self.results, result_entry(number, step, result))
        for event in event_entries(number, result):
            self._put("events", self.events, event)

    def _put(self, kind: str, spool: IO[str], item: dict[str, Any]) -> None:
        text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n" + _ITEM_INDENT)
        spool.write(("" if not self.counts[kind] else ",\n") + _ITEM_INDENT + text)
        self.counts[kind] += 1

    def write(self, out: IO[str], run: HeadlessRun, name: str, error: StepError | None) -> None:
        mgr = run.manager
        config = run.script.config
        report: dict[str, Any] = {
            "name": name,
            "steps": run.steps,
            "clock_ms": mgr.clock_ms,
            "config": config.to_json(),
            "results": f"\0results{self.tag}\0",  # placeholders no user text can spell
            "events": f"\0events{self.tag}\0",
            "g1": g1_json(mgr),
            "g2": mgr.g2_json() if hasattr(mgr, "g2_json") and config.offload else None,
        }
        add_tail(report, run.world, error)
        text = json.dumps(report, indent=2, ensure_ascii=False)
        for kind, spool in (("results", self.results), ("events", self.events)):
            head, _, text = text.partition(f'"\\u0000{kind}{self.tag}\\u0000"')
            out.write(head)
            if not self.counts[kind]:
                out.write("[]")
                continue
            out.write("[\n")
            spool.seek(0)
            shutil.copyfileobj(spool, out)
            out.write("\n  ]")
        out.write(text + "\n")

    def close(self) -> None:
        self.results.close()
        self.events.close()
