"""Errors of the drift scorer and gate (ladder level 7), under the package's one hierarchy.

OpsladderError
├── ConfigError
│   └── GateConfigError            a [tool.opsladder.gate] key or value is wrong
│       └── UnknownGateMetricError a gated metric the metrics table does not have
├── ResultsSchemaError             a results JSON this release cannot read
├── ShardError                     a shard file is unreadable or disagrees with the others
├── AgentBuildError                the build-agent hook raised in a shadow worker process
└── ShadowWorkerRunError           a case's run in a worker process ended in an error that
                                   could not be carried back as itself
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_opsladder.exceptions import ConfigError, OpsladderError

# pytest's outcomes, by name: an agent (or the build hook) that calls pytest.skip/fail/xfail
# gives its case that outcome, in a thread or a worker process as in a serial item.
PYTEST_OUTCOMES: dict[str, type[BaseException]] = {
    "skip": pytest.skip.Exception,
    "fail": pytest.fail.Exception,
    "xfail": pytest.xfail.Exception,
}


class GateConfigError(ConfigError):
    """The gate configuration is invalid; ``key`` names the offending key."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.path: Path | None = None

    def in_file(self, path: Path | str) -> GateConfigError:
        """The same error, naming the file the gate came from (once)."""
        if self.path is None:
            self.path = Path(path)
            self.args = (f"{self.path}: {self.args[0]}", *self.args[1:])
        return self


class UnknownGateMetricError(GateConfigError):
    """The gate names a metric that is not scored; ``valid`` lists the ones that are."""

    def __init__(self, metric: str, valid: list[str]) -> None:
        super().__init__(
            f"[tool.opsladder.gate] names the metric {metric!r}, which the metrics table does "
            f"not have. Valid metrics are: {', '.join(valid)}. Fix the key's spelling, or add "
            "the metric through register_metric / the pytest_opsladder_metrics hook.",
            key=metric,
        )
        self.metric = metric
        self.valid = valid


class ResultsSchemaError(OpsladderError):
    """A results JSON has a format or schema version this release does not read."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ShardError(OpsladderError):
    """A shard file cannot be read, or its settings disagree with the other shards."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class AgentBuildError(OpsladderError):
    """``pytest_opsladder_build_agent`` raised for one case in a shadow worker process: the
    case's item reports it (its type and message), as it does for a hook that raised in the
    controller."""


class ShadowWorkerRunError(OpsladderError):
    """A case's candidate run in a shadow worker process ended in an error its item raises
    (after the agent: an output a cassette cannot store, a cassette refused for a secret) and
    that error could not be carried back to the controller as itself (it does not pickle): the
    item raises this instead, naming its type and message."""
