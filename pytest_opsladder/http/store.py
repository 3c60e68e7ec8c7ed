"""The run's HTTP cassette: an indexed, in-memory store vcrpy's patchers talk to (level 0).

vcrpy scans every recorded interaction for each request; here the recorded interactions are
indexed once by their canonical key (see :mod:`.canonical`), so a lookup is one dict access and
replaying N interactions costs O(N). Repeated identical requests replay in recorded order.
The object also speaks vcrpy's cassette protocol (``can_play_response_for``, ``play_response``,
``append``, ``write_protected``), so vcrpy's own stubs for requests/urllib3/aiohttp use it.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from contextvars import ContextVar
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pytest_opsladder.capture import diff
from pytest_opsladder.capture.diff import closest_calls
from pytest_opsladder.capture.run import current_run
from pytest_opsladder.exceptions import HttpReplayMissError
from pytest_opsladder.http import vcr_format
from pytest_opsladder.http.canonical import Canonical, Canonicalizer, url_base
from pytest_opsladder.http.config import HttpOptions
from pytest_opsladder.http.failures import RecordedFailure, body_kind, error_entry, event_error
from pytest_opsladder.http.scrub import scrub_url
from pytest_opsladder.secrets import remember

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.scopes import RecordingPlan


# The vcrpy request this task last asked the store about: a stub that fails before it hands the
# request back (aiohttp's, on a refused connection) is matched to it by this (see .aiohttp_patch)
LAST_REQUEST: ContextVar[Any] = ContextVar("opsladder_last_request", default=None)


class Outcome(StrEnum):
    """What happened to one HTTP request of a run."""

    REPLAYED = "replayed"  # answered from the cassette, nothing went out
    RECORDED = "recorded"  # went out and was stored in the run's cassette
    LIVE = "live"  # went out and was not stored (allowed host in replay, or no cassette)
    BLOCKED = "blocked"  # refused: not recorded, and the network is closed


class Decision:
    """What to do with one request, decided before anything is sent.

    Its canonical form is computed when first read: a run that only records (nothing to match
    against) never needs it, and canonicalising a body is most of deciding.
    """

    __slots__ = ("_canonical", "_request", "index", "outcome", "outside")

    def __init__(
        self,
        outcome: Outcome,
        canonical: Canonical | Callable[[], Canonical],
        index: int | None = None,
        outside: bool = False,
    ) -> None:
        self.outcome = outcome
        self._canonical = canonical
        self.index = index
        self.outside = outside  # made outside the run's context: not ours to record or count

    @property
    def canonical(self) -> Canonical:
        if not isinstance(self._canonical, Canonical):
            self._canonical = self._canonical()
        return self._canonical


class HttpStore:
    """Recorded interactions of one run (indexed) and the new ones this run makes."""

    custom_patches: tuple[Any, ...] = ()
    skip_patchers = ("httpx", "httpx2")  # ours, chunk-faithful, patch these (see .transport)
    write_protected = False  # blocking is decided per request in can_play_response_for

    def __init__(
        self, run: Run, recorded: list[dict[str, Any]], plan: RecordingPlan, opts: HttpOptions
    ) -> None:
        self.run = run
        self.recorded = recorded
        self.options = opts
        self.canon = Canonicalizer(opts.match_ignore)
        self._path = f"opsladder-run-{run.run_id}"
        self._may_record = plan.live and plan.cassette is not None and not _no_write(plan)
        self._may_go_out = plan.live
        self.counts: Counter[str] = Counter()
        self.cassette = plan.cassette
        self.fresh: list[int] = []  # indexes in run.http of interactions recorded by this run
        self.open = True  # until the run's HTTP scope ends (an SDK's retry waits: .retry_wait)
        self._lock = threading.Lock()
        self._index = self._build_index(recorded)
        self._pending: dict[int, tuple[Any, Decision]] = {}

    def _build_index(self, recorded: list[dict[str, Any]]) -> dict[str, deque[int]]:
        index: dict[str, deque[int]] = defaultdict(deque)
        for i, item in enumerate(recorded):
            req = item["request"]
            body = vcr_format.stored_request_body(req)
            index[self.canon.canonical(req["method"], req["url"], body).key].append(i)
        return index

    # -- deciding --------------------------------------------------------------------------
    def decide(self, method: str, url: str, body: bytes | None) -> Decision:
        """Replay, record, let through live, or block; consumes the recorded interaction.

        Only requests made in the run's context (the agent, its tasks and thread pools) are
        the run's: the patchers are process-wide, and a background thread of another rung
        (an exporter, a monitor) must neither be recorded into the run nor blocked by it.
        """
        canonical: Canonical | Callable[[], Canonical]
        canonical = functools.partial(self.canon.canonical, method, url, body)
        if current_run() is not self.run:
            return Decision(Outcome.LIVE, canonical, outside=True)
        if self._index:  # something recorded to replay: match on the canonical form
            canonical = canonical()
            with self._lock:
                queue = self._index.get(canonical.key)
                if queue:
                    return Decision(Outcome.REPLAYED, canonical, queue.popleft())
        if self._may_go_out:
            outcome = Outcome.RECORDED if self._may_record else Outcome.LIVE
            return Decision(outcome, canonical)
        if self.options.host_allowed(urlsplit(url).hostname or ""):
            return Decision(Outcome.LIVE, canonical)
        return Decision(Outcome.BLOCKED, canonical)

    def miss_error(self, method: str, url: str, canonical: Canonical) -> HttpReplayMissError:
        """The error for a blocked request: the closest recorded requests and their diffs."""
        candidates = [(self._name_of(item), self._view_of(item)) for item in self.recorded]
        closest = closest_calls(f"{canonical.method} {canonical.url}", canonical.view(), candidates)
        same = len([c for c in candidates if c[1] == canonical.view()])
        run = self.run
        why = (
            f"it was recorded {same} time(s) and this is one more"
            if same
            else "no recorded request matches it"
        )
        err = HttpReplayMissError(
            f"HTTP {method} {scrub_url(url)} is not in the cassette {self.cassette} "
            f"(case {run.case.id!r}, variant {run.variant.name!r}): {why}, and replay blocks "
            f"the network.\n{format_closest(closest)}\n"
            "Fix: re-record (--opsladder-mode=record --opsladder-record-mode=new_episodes), "
            "ignore a volatile field with opsladder_config['match_ignore'], or let the host "
            "through with opsladder_config['allowed_hosts']. Ports and headers are not matched."
        )
        err.closest = closest  # type: ignore[attr-defined]
        err.request = canonical.view()  # type: ignore[attr-defined]
        return err

    def _name_of(self, item: dict[str, Any]) -> str:
        return f"{item['request']['method'].upper()} {self._canon_item(item).url}"

    def _view_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return self._canon_item(item).view()

    def _canon_item(self, item: dict[str, Any]) -> Canonical:
        req = item["request"]
        return self.canon.canonical(req["method"], req["url"], vcr_format.stored_request_body(req))

    # -- storing ---------------------------------------------------------------------------
    def store(self, interaction: dict[str, Any]) -> int:
        """Append a new interaction to the run (it will be in the cassette); returns its index."""
        remember(interaction)  # scanned now: the scope's check and the write reuse the result
        with self._lock:
            self.run.http.append(interaction)
            self.fresh.append(len(self.run.http) - 1)
            return len(self.run.http) - 1

    def reuse(self, recorded_index: int) -> tuple[dict[str, Any], int]:
        """A replayed interaction, appended to the run too, so that a run re-saved with new
        episodes keeps everything it replayed; returns it and its index in the run."""
        item = self.recorded[recorded_index]
        with self._lock:
            self.run.http.append(item)
            return item, len(self.run.http) - 1

    def note(self, decision: Decision, data: dict[str, Any], t_start: float) -> None:
        """Count the outcome and emit the run's ``http`` event."""
        with self._lock:
            self.counts[decision.outcome.value] += 1
        data = {**data, "outcome": decision.outcome.value}
        name = f"{data.get('method', '')} {url_base(data.get('url', ''))}"
        self.run.emit("http", name, data, t_start=t_start)

    def failed(
        self,
        decision: Decision,
        data: dict[str, Any],
        interaction: Callable[[], dict[str, Any]],
        error: dict[str, Any],
        t_start: float,
    ) -> None:
        """A request that failed at the transport: its ``http`` event says how, and a run that
        records stores it (``interaction()``), so replay raises the same failure."""
        data = {**data, "error": event_error(error), "error_kind": error["kind"]}
        if decision.outcome is Outcome.RECORDED:
            data["index"] = self.store(interaction())
        self.note(decision, data, t_start)

    def replayed_failure(
        self, decision: Decision, data: dict[str, Any], error: dict[str, Any], t_start: float
    ) -> RecordedFailure:
        """Note a replayed transport error (``data`` holds the request's method, url and
        index); the caller raises it as its own client library would."""
        failure = {"error": event_error(error), "error_kind": error["kind"]}
        self.note(decision, {**data, **failure}, t_start)
        return RecordedFailure(error, data["url"])

    # -- vcrpy's cassette protocol (requests, urllib3, aiohttp, ...) -------------------------
    def can_play_response_for(self, request: Any) -> bool:
        decision = self._decision_for(request)
        return decision.outcome in (Outcome.REPLAYED, Outcome.BLOCKED)

    def _decision_for(self, request: Any) -> Decision:
        key = id(request)
        pending = self._pending.get(key)
        if pending is None or pending[0] is not request:
            decision = self.decide(request.method, request.uri, vcr_format.request_bytes(request))
            pending = self._pending[key] = (request, decision)
            pending[0]._opsladder_t0 = self.run.now()
            LAST_REQUEST.set(request)
        return pending[1]

    def filter_request(self, request: Any) -> Any:
        return request

    def play_response(self, request: Any) -> dict[str, Any]:
        decision = self._decision_for(request)
        self._pending.pop(id(request), None)
        t0 = getattr(request, "_opsladder_t0", self.run.now())
        data = {"method": request.method, "url": scrub_url(request.uri)}
        if decision.outcome is Outcome.BLOCKED:
            self.note(decision, data, t0)
            raise self.miss_error(request.method, request.uri, decision.canonical)
        assert decision.index is not None
        item, index = self.reuse(decision.index)
        if "response" not in item:
            raise self.replayed_failure(decision, {**data, "index": index}, item["error"], t0)
        data.update(status=item["response"]["status"], index=index)
        played = vcr_format.to_vcr_response(item["response"])
        if "error" in item:  # cut mid-body: the stub raises it after the chunks (aiohttp)
            data.update(error=event_error(item["error"]), error_kind=item["error"]["kind"])
            played["body"]["error"] = item["error"]
        self.note(decision, data, t0)
        return played

    def append(
        self, request: Any, response: dict[str, Any], error: BaseException | None = None
    ) -> None:
        """A response vcrpy's stubs got; ``error`` when its body was cut mid-way (aiohttp)."""
        decision = self._decision_for(request)
        self._pending.pop(id(request), None)
        if decision.outside:
            return
        t0 = getattr(request, "_opsladder_t0", self.run.now())
        data: dict[str, Any] = {"method": request.method, "url": scrub_url(request.uri)}
        data["status"] = response["status"]["code"]
        kind = body_kind(error) if error is not None else None
        cut = error_entry(error, kind) if error is not None and kind is not None else None
        if cut is not None:
            data.update(error=event_error(cut), error_kind=kind)
        if decision.outcome is Outcome.RECORDED:
            item = vcr_format.from_vcr(request, response, self.run.now() - t0, cut)
            data["index"] = self.store(item)
        elif decision.outcome is Outcome.LIVE:
            _keep_llm_summary(data, request, response, self.run.now() - t0, cut)
        self.note(decision, data, t0)

    def fail(self, request: Any, exc: BaseException, kind: str) -> None:
        """A request vcrpy's stubs sent failed at the transport (``exc``, of ``kind``)."""
        pending = self._pending.pop(id(request), None)
        if pending is None or pending[0] is not request:
            return
        decision = pending[1]
        if decision.outside or decision.outcome not in (Outcome.RECORDED, Outcome.LIVE):
            return
        t0 = getattr(request, "_opsladder_t0", self.run.now())
        data: dict[str, Any] = {"method": request.method, "url": scrub_url(request.uri)}
        error = error_entry(exc, kind)
        elapsed = self.run.now() - t0
        stored = functools.partial(vcr_format.failed_interaction, request, error, elapsed)
        self.failed(decision, data, stored, error, t0)


def _keep_llm_summary(
    data: dict[str, Any],
    request: Any,
    response: dict[str, Any],
    elapsed: float,
    cut: dict[str, Any] | None = None,
) -> None:
    """A live LLM call that is not stored (shadow without a candidate cassette) keeps its
    derived llm_call on its http event, as over httpx (see .exchange): nothing else of it
    remains to read, and without it a model reached over requests or aiohttp counted 0 tokens."""
    from pytest_opsladder.capture.llm import live_llm_summary

    if request.method.upper() != "POST":
        return
    summary = live_llm_summary(vcr_format.from_vcr(request, response, elapsed, cut))
    if summary is not None:
        data["llm"] = summary


def format_closest(closest: list[dict[str, Any]]) -> str:
    """The closest recorded requests with the JSON paths where each differs."""
    return diff.format_closest(
        closest, what="HTTP requests", label="requests", verb="requested",
        show_args=False, max_diffs=8, width=100,
    )  # fmt: skip


def _no_write(plan: RecordingPlan) -> bool:
    return plan.mode.value == "shadow" and bool(plan.options.get("shadow_no_write"))
