"""The pytest stash keys the plugin modules share (ladder levels 0 and 7).

They live in this plain module, not in a plugin module: ``plugin.py`` (the entry point) must not
import another plugin module at import time, or pytest finds it already imported when it comes
to rewrite its asserts, and warns (an error under ``filterwarnings = error``). The plugin
modules (plugin.py, fixtures.py, drift/plugin.py, nightmare/plugin.py) depend on each other
through these keys only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.variant import Case
    from pytest_opsladder.nightmare.case import NightmareCase
    from pytest_opsladder.settings import Settings
    from pytest_opsladder.tally import Tally

CASE_KEY: pytest.StashKey[Case] = pytest.StashKey()
EPOCH_KEY = pytest.StashKey[int]()
# what a case's item raises after shadow ran its candidate concurrently (drift.concurrent.ShadowJob)
PREFETCH_ERROR_KEY = pytest.StashKey[BaseException]()
RUN_KEY: pytest.StashKey[Run] = pytest.StashKey()
SETTINGS_KEY: pytest.StashKey[Settings] = pytest.StashKey()
TALLY_KEY: pytest.StashKey[Tally] = pytest.StashKey()
NIGHTMARE_CASE: pytest.StashKey[NightmareCase] = pytest.StashKey()
# A test's own fixture request, kept by an autouse fixture while the test sets up: the run can
# still be opened with it after another fixture failed (see setup_order.py).
SETUP_REQUEST = pytest.StashKey[pytest.FixtureRequest]()
# The run's own setup failure (no cassette, ...): reported only if the test's other fixtures
# set up (see setup_order.py).
RUN_SETUP_FAILURE = pytest.StashKey[BaseException]()
