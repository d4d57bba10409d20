"""The World: everything one simulated deployment holds, cloned and restored as one.

The KV manager (kvtui.sim) knows nothing of requests; the request table (and, with the
scheduler, its queues) sits beside it here. Session checkpoints and the rollback of a multi-move
command copy the whole World, so blocks and the requests that hold them never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kvtui.sim.config import Config
from kvtui.sim.manager import KvManager, MoveResult
from kvtui.workload.actions import RequestAction, RequestCommand
from kvtui.workload.requests import RequestTable, execute_request


@dataclass(slots=True)
class World:
    manager: KvManager
    requests: RequestTable = field(default_factory=RequestTable)

    @classmethod
    def from_config(cls, config: Config) -> World:
        return cls(KvManager.from_config(config))

    def clone(self) -> World:
        return World(self.manager.clone(), self.requests.clone())

    def restore(self, snapshot: World) -> None:
        """Become ``snapshot`` (a private clone) in place, so every holder sees the rollback."""
        self.manager.restore(snapshot.manager)
        self.requests.requests = snapshot.requests.requests

    def execute_request(self, command: RequestCommand) -> MoveResult:
        """Apply a request command atomically: a rejected one leaves the World as it was."""
        if not isinstance(command, RequestAction):  # validated before they change anything
            return execute_request(self.manager, self.requests, command)
        snapshot = self.clone()
        try:
            return execute_request(self.manager, self.requests, command)
        except BaseException:
            self.restore(snapshot)
            raise

    def dump(self) -> dict[str, Any]:
        """The manager's full dump (exact before/after comparisons in tests)."""
        return self.manager.dump()
