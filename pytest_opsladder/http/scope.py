"""The HTTP run scope: vcrpy's patchers around every run, bound to the run's cassette.

Registered with :func:`register_run_scope` at import; the recorder enters it around each run.
While it is active, httpx/httpx2 (chunk-faithful, see :mod:`.transport`) and requests, urllib3,
aiohttp ... (vcrpy's own stubs) all answer from :class:`~.store.HttpStore`. On exit it counts
the run's requests, flags new episodes, and refuses a cassette that would hold a credential
(a production run store masks it instead).
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture.metrics import register_metric
from pytest_opsladder.capture.scopes import RecordingPlan, register_run_scope
from pytest_opsladder.http.config import parse_options
from pytest_opsladder.http.dispatch import register, unregister
from pytest_opsladder.http.errors import HttpSecretError
from pytest_opsladder.http.secrets_scan import Finding, scan
from pytest_opsladder.http.stale import cassette_changes
from pytest_opsladder.http.store import HttpStore, Outcome

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run

COUNTS_KEY = "http"  # run.extra["http"]: {"replayed": n, "recorded": n, "live": n, "blocked": n}
STALE_KEY = "stale"  # run.extra["stale"]: what changed since the replayed cassette was recorded


class HttpScope:
    """Context manager: record or replay the run's HTTP while the agent runs."""

    def __init__(self, run: Run, recorded: Run | None, plan: RecordingPlan) -> None:
        self.run = run
        self.replaying = recorded is not None
        # The tools whose schemas the recorded run depends on: only these can make it stale.
        self.recorded_tools = (
            sorted({e.name for e in recorded.events_of("tool_call")}) if recorded else []
        )
        history = list(recorded.http) if recorded is not None else []
        self.store = HttpStore(run, history, plan, parse_options(plan.options))
        self.plan = plan
        self._stack = ExitStack()

    def __enter__(self) -> HttpStore:
        # One process-wide set of patches serves every active run (see .dispatch).
        register(self.run, self.store, blocks_network=not self.plan.live)
        self._stack.callback(unregister, self.run)
        return self.store

    def _check_stale(self) -> None:
        """Compare at the end of the run: an agent often registers its tools as it starts."""
        from pytest_opsladder.capture.tools import tools_schema_hash

        if not self.replaying or self.plan.cassette is None:
            return
        today = tools_schema_hash(self.recorded_tools)
        changed = cassette_changes(self.plan.cassette, self.run.variant, today)
        if changed:
            self.run.extra[STALE_KEY] = changed

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.store.open = False
        self._stack.close()
        counts = {o.value: self.store.counts[o.value] for o in Outcome}
        self.run.extra[COUNTS_KEY] = counts
        if self.replaying and counts[Outcome.RECORDED.value]:
            self.run.extra["http_new_episodes"] = True
        self._check_stale()
        self._refuse_secrets()

    def _refuse_secrets(self) -> None:
        """Scan what this run recorded (replayed interactions were scanned when recorded).
        A production run store masks credentials as it writes: nothing to refuse there."""
        if self.plan.redacts_on_write:
            return
        fresh = self.store.fresh
        found = scan([self.run.http[i] for i in fresh], self.store.options.secrets_allow)
        if not found:
            return
        findings = [_renumber(f, fresh[f.index]) for f in found]
        bad = {f.index for f in findings}
        self.run.http[:] = [item for i, item in enumerate(self.run.http) if i not in bad]
        error = _secret_error(self.run, findings)
        self.run.fail(error)
        raise error


def _renumber(finding: Finding, index: int) -> Finding:
    """The finding with the interaction's index in the run (and in its JSON path)."""
    path = finding.path.replace(f"$.http[{finding.index}]", f"$.http[{index}]", 1)
    return Finding(index, path, finding.kind, finding.sample)


def _secret_error(run: Run, findings: list[Finding]) -> HttpSecretError:
    first = findings[0]
    places = "\n".join(
        f"  - interaction {f.index}, {f.path}: {f.kind} ({f.sample})" for f in findings[:10]
    )
    return HttpSecretError(
        f"refusing to write a credential into the cassette of run {run.run_id} (case "
        f"{run.case.id!r}): {len(findings)} finding(s)\n{places}\n"
        "The interactions holding them were dropped from the run. Fix: keep the credential out "
        "of request/response bodies (send it in a header; credential headers are scrubbed), or, "
        "if it is not a real credential, allow it with opsladder_config['secrets_allow'] = "
        "[<regex>].",
        run_id=run.run_id,
        index=first.index,
        json_path=first.path,
    )


def _factory(run: Run, recorded: Run | None, plan: RecordingPlan) -> Any:
    return HttpScope(run, recorded, plan)


def _count(outcome: Outcome) -> Any:
    def metric(run: Run) -> int:
        return sum(1 for e in run.events_of("http") if e.data.get("outcome") == outcome.value)

    return metric


for _outcome in Outcome:
    register_metric(f"http_{_outcome.value}")(_count(_outcome))
register_run_scope("http", _factory)
