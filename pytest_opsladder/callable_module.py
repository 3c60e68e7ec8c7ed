"""Modules that can be called like the function they are named after.

``pytest_opsladder.capture`` is both the ``capture()`` context manager users call and the
subpackage ``pytest_opsladder.capture.run`` lives in; ``pytest_opsladder.settings(config)`` is
both an accessor and the module ``pytest_opsladder.settings``. A package attribute can only be
one object, so the module object itself is made callable: attribute access, ``import a.b.c``
and the call all work, with no name shadowing another.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


class CallableModule(types.ModuleType):
    """A module whose call delegates to ``module:function`` (imported on first call)."""

    _opsladder_call_target = ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, name = self._opsladder_call_target.partition(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)


def make_module_callable(module_name: str, target: str) -> None:
    """Make ``sys.modules[module_name]`` callable as ``target`` (``"package.module:function"``)."""
    module = sys.modules[module_name]
    module.__class__ = CallableModule
    module._opsladder_call_target = target  # type: ignore[attr-defined]
