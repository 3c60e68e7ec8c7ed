"""The package as a user imports it: names that are both a function and a module, in a fresh
interpreter (an import already made by the test session would hide the problem)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", textwrap.dedent(code)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_capture_and_settings_are_callable_and_importable_as_module_paths() -> None:
    done = _fresh(
        """
        import pytest_opsladder.capture.run
        import pytest_opsladder.settings
        import pytest_opsladder as p
        from pytest_opsladder import capture, settings
        from pytest_opsladder.capture import run
        from pytest_opsladder.settings import Settings, session_settings
        assert p.capture.run is run and p.capture.run.Run is p.Run
        assert p.capture is capture and p.settings is settings and settings.Settings is Settings
        assert p.settings.session_settings is session_settings
        import tempfile
        with capture("case-1", "prod", tempfile.mkdtemp(), input={"q": 1}) as r:
            r.output = "done"
        print("captured", r.case.id, r.variant.name)
        class Config:
            class stash:
                get = staticmethod(lambda key, default: default)
        try:
            settings(Config())
        except p.exceptions.ConfigError as exc:
            print("settings:", str(exc)[:80])
        """
    )
    assert done.returncode == 0, done.stderr
    assert "captured case-1 prod" in done.stdout
    assert "settings: pytest_opsladder.settings(config) was called before the plugin" in (
        done.stdout
    )
