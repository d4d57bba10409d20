"""The JSON text of every kvtui report (`--json`): deterministic, ids as integers, UTF-8 as is.

A module of its own so that printing one (`kvtui trace --json`) loads no session, parser or
engine code beyond what built the report.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(report: dict[str, Any]) -> str:
    """Deterministic JSON text (ids stay integers, no timestamps)."""
    return json.dumps(report, indent=2, ensure_ascii=False)
