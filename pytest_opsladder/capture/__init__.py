"""Ladder level 0: run capture. The Run record, tools, decisions, cassettes, production capture."""

# ``pytest_opsladder.capture(...)`` is production capture and this package at once: calling the
# module calls capture.production.capture, so ``import pytest_opsladder.capture.run`` works too.
from pytest_opsladder.callable_module import make_module_callable

make_module_callable(__name__, "pytest_opsladder.capture.production:capture")
