"""Hypothesis profiles for the property tests.

* ``default`` (loaded unless told otherwise): fast enough for every run of the suite.
* ``heavy``: a long bug hunt, selected with ``HYPOTHESIS_PROFILE=heavy``.

Tests that pin their own ``@settings(max_examples=...)`` keep them; everything else (the
stateful machines of test_properties.py included) takes the loaded profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=60,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "heavy",
    max_examples=1000,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
