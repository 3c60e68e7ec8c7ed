"""Environments and scoped credentials (ladder level 6): a staging run stays in staging.

A :class:`Vault` knows every environment (its target hosts and the shape of its keys) and every
credential (which environment and workflows may read it). A workflow gets an
:class:`EnvironmentScope` for one environment: it reads only its own credentials, and its tool
calls are checked at the boundary for targets and keys of any other environment. Messages name
the credential or variable, never the secret.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pytest_opsladder.blast_radius import events as ev
from pytest_opsladder.blast_radius.errors import (
    BlastRadiusConfigError,
    CredentialScopeError,
    EnvironmentViolationError,
)
from pytest_opsladder.capture.run import emit
from pytest_opsladder.choices import parse_choice

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.tools import ToolSpec


class UnknownTargets(StrEnum):
    """What a scope does with a URL whose host no environment declares."""

    ALLOW = "allow"
    DENY = "deny"

    @classmethod
    def parse(cls, value: str) -> UnknownTargets:
        return parse_choice(cls, value, setting="unknown_targets", error=BlastRadiusConfigError)


@dataclass(frozen=True)
class EnvironmentSpec:
    """An environment: host patterns it owns (``*.prod.example.com``) and its key prefixes."""

    name: str
    targets: tuple[str, ...] = ()
    key_prefixes: tuple[str, ...] = ()

    def owns_host(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pat.lower()) for pat in self.targets)

    def owns_key(self, text: str) -> bool:
        return any(prefix in text for prefix in self.key_prefixes)


@dataclass(frozen=True)
class Credential:
    """A secret bound to one environment and (if ``workflows`` is set) to some workflows."""

    name: str
    secret: str = field(repr=False)
    environment: str
    workflows: frozenset[str] = frozenset()

    def readable_by(self, environment: str, workflow: str) -> bool:
        if self.environment != environment:
            return False
        return not self.workflows or workflow in self.workflows


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Vault:
    """Every environment and credential; hand out :meth:`scope` per workflow run."""

    def __init__(
        self, environments: Iterable[EnvironmentSpec], credentials: Iterable[Credential] = ()
    ) -> None:
        self.environments = {env.name: env for env in environments}
        self._creds: dict[str, list[Credential]] = {}
        self._owners: dict[str, str] = {}  # secret fingerprint -> environment
        for cred in credentials:
            self.add(cred)

    def add(self, cred: Credential) -> None:
        self._require_env(cred.environment)
        self._creds.setdefault(cred.name, []).append(cred)
        self._owners[_fingerprint(cred.secret)] = cred.environment

    def _require_env(self, name: str) -> EnvironmentSpec:
        if name not in self.environments:
            valid = ", ".join(sorted(self.environments)) or "(none declared)"
            raise BlastRadiusConfigError(
                f"environment {name!r} is not declared. Valid environments are: {valid}. "
                "Declare it with EnvironmentSpec(name, targets=..., key_prefixes=...)."
            )
        return self.environments[name]

    def owner_of(self, text: str) -> str | None:
        """The environment a secret belongs to, by exact value or by key prefix."""
        owner = self._owners.get(_fingerprint(text))
        if owner is not None:
            return owner
        return next((e.name for e in self.environments.values() if e.owns_key(text)), None)

    def credentials(self, name: str) -> list[Credential]:
        return list(self._creds.get(name, []))

    def scope(
        self, environment: str, workflow: str, *, unknown_targets: str = "deny"
    ) -> EnvironmentScope:
        self._require_env(environment)
        return EnvironmentScope(self, environment, workflow, UnknownTargets.parse(unknown_targets))


class EnvironmentScope:
    """What one workflow in one environment may read and reach."""

    def __init__(
        self, vault: Vault, environment: str, workflow: str, unknown: UnknownTargets
    ) -> None:
        self.vault = vault
        self.environment = environment
        self.workflow = workflow
        self.unknown = unknown

    def credential(self, name: str) -> str:
        """The secret named ``name`` for this environment and workflow, and no other."""
        for cred in self.vault.credentials(name):
            if cred.readable_by(self.environment, self.workflow):
                return cred.secret
        self._block("credential", name)
        raise CredentialScopeError(
            f"workflow {self.workflow!r} in environment {self.environment!r} may not read "
            f"credential {name!r}: it is not issued to this workflow in this environment. "
            f"Issue one with Credential({name!r}, ..., environment={self.environment!r})."
        )

    def check_target(self, url_or_host: str) -> None:
        """Refuse a host owned by another environment (and unknown hosts, if so configured)."""
        host = _host(url_or_host)
        if host is None:
            return
        owners = [e.name for e in self.vault.environments.values() if e.owns_host(host)]
        if self.environment in owners:
            return
        if owners:
            self._violation("target", url_or_host, f"{host!r} belongs to {owners[0]!r}")
        if self.unknown is UnknownTargets.DENY and "://" in url_or_host:
            self._violation("target", url_or_host, f"{host!r} is not declared by any environment")

    def check_secret(self, text: str, where: str) -> None:
        owner = self.vault.owner_of(text)
        if owner is not None and owner != self.environment:
            self._violation("credential", where, f"it holds a key of environment {owner!r}")

    def check_environ(self, environ: Mapping[str, str] | None = None) -> None:
        """Refuse to start when the process holds another environment's key in a variable."""
        for var, value in (os.environ if environ is None else environ).items():
            self.check_secret(value, f"environment variable ${var}")

    def check_args(self, tool: str, args: Any) -> None:
        for path, text in _strings(args, "$"):
            self.check_secret(text, f"argument {path} of tool {tool!r}")
            if "://" in text or ("." in text and " " not in text):
                self.check_target(text)

    def guard(self, run: Run, spec: ToolSpec, args: dict[str, Any]) -> None:
        """A tool guard: every tool call is checked for foreign targets and keys."""
        self.check_args(spec.name, args)

    def _block(self, what: str, name: str, why: str = "") -> None:
        data = {"environment": self.environment, "workflow": self.workflow, "what": what}
        emit(ev.ENV_BLOCKED, name, {**data, "why": why})

    def _violation(self, what: str, where: str, why: str) -> None:
        self._block(what, where, why)
        raise EnvironmentViolationError(
            f"workflow {self.workflow!r} runs in environment {self.environment!r}, but {what} "
            f"{where!r} was refused: {why}. A run may reach only its own environment; use this "
            "environment's target and credentials (scope.credential(name))."
        )


def _host(text: str) -> str | None:
    if "://" in text:
        host = urlsplit(text).hostname
        return host.lower() if host else None
    token = text.strip().lower()
    if token and all(c.isalnum() or c in ".-:" for c in token):
        return token.split(":")[0]
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
