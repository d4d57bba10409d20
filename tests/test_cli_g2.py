"""`kvtui run PRESET --json` for the G2 presets: the `g2` object (SPEC §10) computed by hand.

g2-full-eviction ends with two transfers in flight, so its report shows them with their
blocks, bytes, start and projected completion; the other G2 presets end with idle links.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kvtui.cli.app import app

MB = 1_000_000


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("KVTUI_STATE_DIR", str(folder))
    return folder


def run_json(name: str) -> tuple[str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["run", name, "--json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout, json.loads(result.stdout)


def test_full_eviction_report_shows_both_transfers_in_flight() -> None:
    text, report = run_json("g2-full-eviction")
    assert text == run_json("g2-full-eviction")[0]  # byte-identical
    assert "error" not in report
    assert report["config"]["offload"] == {"g2_blocks": 4, "block_size_bytes": MB,
                                           "g1_to_g2_gbps": 1.0, "g2_to_g1_gbps": 2.0,
                                           "batch_size": 32}
    # By hand (1 MB blocks; offload link 1 GB/s = 1e6 B/ms, onboard link 2 GB/s = 2e6 B/ms;
    # the two links are independent):
    #   step 5  `use 5 6 7 8` at 0.0 evicts 2 1 4 3: one 4 MB copy alone -> 4e6/1e6 = 4 ms,
    #           `tick next` lands it at 4.0;
    #   step 9  `use 9 10` at 4.0 evicts 8 7: one 2 MB copy alone -> 4.0 + 2 = 6.0, `tick next`;
    #   step 11 `swapin 3 4` at 6.0: 2 MB onboard alone -> 6.0 + 2e6/2e6 = 7.0;
    #   step 12 `use 9 10` at 6.0 evicts 6 5 (6 is the leaf of 5→6): a 2 MB copy, alone on the
    #           offload link -> 6.0 + 2e6/1e6 = 8.0.
    # Nothing ticks after that: the clock stays at 6.0 and both are listed in start order.
    assert report["clock_ms"] == 6.0
    assert report["steps"] == 12
    assert report["g2"] == {
        "capacity": 4,
        "resident": [3, 4],  # 3 and 4 pinned by the swap-in; 6 5 are in flight, not resident
        "pinned": [3, 4],
        "transfers": [
            {"link": "onboard", "blocks": [3, 4], "bytes": 2 * MB, "started_ms": 6.0, "eta_ms": 7.0},
            {"link": "offload", "blocks": [6, 5], "bytes": 2 * MB, "started_ms": 6.0, "eta_ms": 8.0},
        ],
    }
    g1 = report["g1"]
    # two slots quarantined behind the copy of 6 5, two reserved for the swap-in of 3 4
    assert (g1["reset"], g1["num_active_blocks"], g1["num_inactive_blocks"]) == (0, 4, 0)
    assert g1["quarantined"] == 2 and g1["active"] == {} and g1["inactive"] == []
    last = [(e["tier"], e["kind"], e["blocks"]) for e in report["events"] if e["step"] == 12]
    assert last == [("device", "removed", [6, 5]), ("host_pinned", "removed", [8]),
                    ("host_pinned", "removed", [7])]
    assert report["results"][-1] == {"step": 12, "command": "use 9 10", "returned": 0}


@pytest.mark.parametrize(
    ("name", "clock", "capacity", "resident"),
    [
        ("g2-offload-quarantine", 4.0, 4, [2, 1]),
        ("g2-link-sharing", 6.0, 8, [4, 3, 2, 1, 8, 7]),
        ("g2-swap-in", 4.0, 8, [4, 3]),
    ],
)
def test_other_g2_presets_end_with_idle_links(
    name: str, clock: float, capacity: int, resident: list[int]
) -> None:
    _, report = run_json(name)
    assert report["clock_ms"] == clock
    assert report["g2"] == {"capacity": capacity, "resident": resident, "pinned": [], "transfers": []}
    assert report["g1"]["quarantined"] == 0


def test_swap_in_report_has_the_anchored_device_stored_event() -> None:
    _, report = run_json("g2-swap-in")
    onboard = [e for e in report["events"] if e["tier"] == "device" and e["kind"] == "stored"]
    assert [(e["blocks"], e["parent_hash"]) for e in onboard] == [([1, 2, 3, 4], None), ([3, 4], 2)]
