"""Loading policies from TOML, YAML or Python dicts, validated (ladder level 4).

Every mistake is a :class:`PolicyError` that names the file and the rule: an unknown key (a
typo must never silently disable a control), a missing or wrongly typed value, a verdict or
constraint kind outside its closed set, a duplicate rule id. A policy's own examples are
decided at load time, so a policy that contradicts its examples never loads.
"""

from __future__ import annotations

import copy
import json
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pytest_opsladder import _json
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.guardrails import policy_schema as schema
from pytest_opsladder.guardrails.errors import PolicyError, PolicyExampleError
from pytest_opsladder.guardrails.policy import Example, Policy
from pytest_opsladder.guardrails.verdicts import Decision


def read_policy_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping in a ``.toml``, ``.yaml``/``.yml`` or ``.json`` policy file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            f"cannot read the policy file ({exc.strerror})", source=str(path)
        ) from None
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"the policy file is not UTF-8 text (byte {exc.start}); save it as UTF-8",
            source=str(path),
        ) from None
    try:
        data = _parse(path, text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise PolicyError(f"not valid {path.suffix.lstrip('.')}: {exc}", source=str(path)) from None
    except RecursionError:  # TOML and YAML readers recurse per level of nesting
        raise PolicyError(
            f"not valid {path.suffix.lstrip('.')}: nested too deep to read", source=str(path)
        ) from None
    if not isinstance(data, dict):
        raise PolicyError(f"the top level is {type(data).__name__}, not a table", source=str(path))
    return data


def _parse(path: Path, text: str) -> Any:
    if path.suffix == ".toml":
        return tomllib.loads(text)
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(str(exc)) from None
    if path.suffix == ".json":
        return _json.parse(text)
    raise ValueError(f"unknown suffix {path.suffix!r}; use .toml, .yaml, .yml or .json")


def load_policy(
    path: str | Path,
    *,
    workflow: str | None = None,
    environment: str | None = None,
    check_examples: bool = True,
) -> Policy:
    """Load, validate and compile the policy in ``path`` for one workflow and environment."""
    path = Path(path)
    return policy_from_dict(
        read_policy_file(path),
        source=str(path),
        base_dir=path.parent,
        workflow=workflow,
        environment=environment,
        check_examples=check_examples,
    )


def policy_from_dict(
    data: dict[str, Any],
    *,
    source: str = "<python>",
    base_dir: str | Path = ".",
    workflow: str | None = None,
    environment: str | None = None,
    check_examples: bool = True,
) -> Policy:
    """A policy written in Python: the same mapping a TOML/YAML file holds, same checks."""
    raw = copy.deepcopy(data)
    try:
        policy = schema.compile_policy(raw, source, Path(base_dir), workflow, environment)
    except PolicyError:
        raise
    except ConfigError as exc:
        raise PolicyError(str(exc), source=source) from None
    if check_examples:
        failures = [r for r in example_results(policy) if not r[1]]
        if failures:
            raise _example_error(policy, failures)
    return policy


DEFAULT_POLICY = Path(__file__).with_name("default_policy.toml")


def default_policy(workspace: str | Path = ".") -> Policy:
    """The built-in policy (``default_policy.toml``) with ``workspace`` as its workspace.

    It applies when a project configures no policy and to ``opsladder policy check`` without
    ``--policy``: known-safe shell commands run, destructive ones are denied, the rest asks.
    """
    return _default_policy(str(Path(workspace).resolve()))


@lru_cache(maxsize=16)
def _default_policy(workspace: str) -> Policy:
    # A Policy is immutable, so one load per workspace serves every caller in the process.
    return policy_from_dict(
        read_policy_file(DEFAULT_POLICY),
        source=f"<built-in default policy {DEFAULT_POLICY.name}>",
        base_dir=workspace,
    )


def example_results(policy: Policy) -> list[tuple[Example, bool, Decision]]:
    """Each example with whether the policy decided it as expected, and the decision."""
    out = []
    for example in policy.examples:
        decision = policy.decide(example.tool, example.args)
        out.append((example, decision.verdict is example.expect, decision))
    return out


def _example_error(policy: Policy, failures: list[tuple[Example, bool, Decision]]) -> PolicyError:
    lines = [
        f"example {ex.id!r} ({ex.tool} {json.dumps(ex.args)[:80]}) expects {ex.expect.value}, "
        f"the policy decides {decision.line()}"
        for ex, _, decision in failures
    ]
    return PolicyExampleError(
        f"{len(failures)} example(s) contradict the policy:\n  "
        + "\n  ".join(lines)
        + "\nFix the rules or the examples; `opsladder policy test FILE` shows every example.",
        source=policy.source,
        rule=failures[0][0].id,
    )
