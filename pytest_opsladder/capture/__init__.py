"""Ladder level 0: run capture. The Run record, tools, decisions, cassettes, production capture."""

# ``pytest_opsladder.capture(...)`` is production capture and this package at once: calling the
# module calls capture.production.capture, so ``import pytest_opsladder.capture.run`` works too.
from pytest_opsladder.callable_module import make_module_callable

make_module_callable(__name__, "pytest_opsladder.capture.production:capture")

# Register what every run derives when it ends (its tools' hash, its metrics): Run itself
# imports neither module, so they load with the package (see capture.run.END_STEPS).
from pytest_opsladder.capture import metrics as _metrics  # noqa: E402, F401
from pytest_opsladder.capture import tools as _tools  # noqa: E402, F401
