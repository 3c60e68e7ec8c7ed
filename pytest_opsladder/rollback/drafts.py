"""Drafts first (ladder level 5): an outbound action becomes a draft until it is approved.

Calling an action wrapped by :meth:`Drafts.draft_first` runs nothing: it returns a
:class:`Draft` holding the call. ``draft.publish()`` asks the approver and runs the action at
most once. An approver is any callable ``approver(draft)``; it may return a bool, a string
("allow"/"approve"/"approved"/"yes" mean yes), or an object with an ``approved`` attribute or a
``answer``/``decision``/``value`` string, so guardrails answers plug in as they are (and
:func:`~pytest_opsladder.rollback.approval.gate_approver` routes drafts through the guardrails
approval gate). Anything else, including ``None``, is a no: publishing fails closed.
"""

from __future__ import annotations

import functools
import inspect
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pytest_opsladder.capture.run import current_run, emit, utc_now
from pytest_opsladder.rollback import events as ev
from pytest_opsladder.rollback.errors import ApprovalDeniedError, DraftStateError

Approver = Callable[["Draft"], Any]
_YES = frozenset({"allow", "allowed", "always", "approve", "approved", "yes"})


class DraftStatus(StrEnum):
    """Where a draft is in its life."""

    DRAFT = "draft"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    DISCARDED = "discarded"


@dataclass(eq=False)
class Draft:
    """One held outbound call: what would be done, by which run, and what became of it."""

    id: str
    action: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    created_at: str
    run_id: str | None
    status: DraftStatus = DraftStatus.DRAFT
    result: Any = None
    decision: Any = None
    fn: Callable[..., Any] = field(repr=False, default=print)
    box: Drafts | None = field(repr=False, default=None)

    def publish(self, approver: Approver | None = None) -> Any:
        """Ask the approver, then run the action once; see :meth:`Drafts.publish`."""
        assert self.box is not None
        return self.box.publish(self, approver)

    async def apublish(self, approver: Approver | None = None) -> Any:
        assert self.box is not None
        return await self.box.apublish(self, approver)

    def discard(self) -> None:
        assert self.box is not None
        self.box.discard(self)


def is_approved(decision: Any) -> bool:
    """Whether an approver's answer is a clear yes (anything unclear is a no)."""
    if isinstance(decision, bool):
        return decision
    if isinstance(decision, str):
        return decision.strip().lower() in _YES
    approved = getattr(decision, "approved", None)
    if isinstance(approved, bool):
        return approved
    for attr in ("answer", "decision", "value"):
        text = getattr(decision, attr, None)
        if isinstance(text, str):
            return text.strip().lower() in _YES
    return False


class Drafts:
    """The drafts of one workflow (or test): held calls, their approvals and outcomes."""

    def __init__(self, approver: Approver | None = None) -> None:
        self.approver = approver
        self._drafts: dict[str, Draft] = {}
        self._lock = threading.Lock()

    def draft_first(self, fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
        """Decorator: calling the action returns a :class:`Draft` instead of running it."""

        def deco(func: Callable[..., Any]) -> Callable[..., Draft]:
            action = name or func.__name__

            def make_draft(*args: Any, **kwargs: Any) -> Draft:
                return self._hold(func, action, args, kwargs)

            return functools.update_wrapper(make_draft, func)

        return deco(fn) if fn is not None else deco

    def _hold(self, fn: Callable[..., Any], action: str, args: tuple[Any, ...], kw: Any) -> Draft:
        run = current_run()
        draft = Draft(
            uuid.uuid4().hex, action, args, dict(kw), utc_now(), run.run_id if run else None
        )
        draft.fn, draft.box = fn, self
        with self._lock:
            self._drafts[draft.id] = draft
        self._emit(draft, "drafted")
        return draft

    def _emit(self, draft: Draft, what: str, **extra: Any) -> None:
        data = {"draft_id": draft.id, "action": what, "status": draft.status.value}
        emit(ev.DRAFT, draft.action, {**data, **extra})

    def _begin(self, draft: Draft) -> None:
        with self._lock:
            if draft.status is not DraftStatus.DRAFT:
                raise DraftStateError(
                    f"draft {draft.id!r} of {draft.action!r} is {draft.status.value}, so it "
                    "cannot be published; a draft is published at most once. Make a new draft."
                )
            draft.status = DraftStatus.PUBLISHING

    def _decide(self, draft: Draft, approver: Approver | None, decision: Any) -> None:
        draft.decision = decision
        if is_approved(decision):
            return
        draft.status = DraftStatus.DRAFT
        self._emit(draft, "rejected", decision=repr(decision)[:200])
        raise ApprovalDeniedError(
            f"draft {draft.id!r} of {draft.action!r} was not published: the approver "
            f"{_name(approver)} answered {decision!r}, which is not a clear yes. It stays a "
            "draft; publish again once it is approved.",
            draft_id=draft.id,
            decision=decision,
        )

    def _approver(self, approver: Approver | None) -> Approver:
        chosen = approver or self.approver
        return chosen if chosen is not None else _no_approver

    def publish(self, draft: Draft, approver: Approver | None = None) -> Any:
        """Run the drafted action once, if the approver says yes; otherwise it stays a draft."""
        self._begin(draft)
        chosen = self._approver(approver)
        try:
            self._decide(draft, chosen, chosen(draft))
            result = draft.fn(*draft.args, **draft.kwargs)
        except BaseException:
            draft.status = DraftStatus.DRAFT
            raise
        return self._published(draft, result)

    async def apublish(self, draft: Draft, approver: Approver | None = None) -> Any:
        """Async :meth:`publish`: awaits an async approver and an async action."""
        self._begin(draft)
        chosen = self._approver(approver)
        try:
            decision = chosen(draft)
            self._decide(
                draft, chosen, await decision if inspect.isawaitable(decision) else decision
            )
            result = draft.fn(*draft.args, **draft.kwargs)
            result = await result if inspect.isawaitable(result) else result
        except BaseException:
            draft.status = DraftStatus.DRAFT
            raise
        return self._published(draft, result)

    def _published(self, draft: Draft, result: Any) -> Any:
        draft.status, draft.result = DraftStatus.PUBLISHED, result
        self._emit(draft, "published")
        return result

    def discard(self, draft: Draft) -> None:
        with self._lock:
            if draft.status is not DraftStatus.DRAFT:
                raise DraftStateError(
                    f"draft {draft.id!r} is {draft.status.value}; only a draft can be discarded."
                )
            draft.status = DraftStatus.DISCARDED
        self._emit(draft, "discarded")

    def pending(self) -> list[Draft]:
        return [d for d in self._drafts.values() if d.status is DraftStatus.DRAFT]

    def get(self, draft_id: str) -> Draft:
        return self._drafts[draft_id]


def _no_approver(draft: Draft) -> None:
    return None


def _name(approver: Approver | None) -> str:
    if approver is _no_approver:
        return "(none configured: pass approver= to Drafts() or publish())"
    return getattr(approver, "__qualname__", None) or repr(approver)


def draft_first(fn: Callable[..., Any] | None = None, *, approver: Approver | None = None) -> Any:
    """Wrap one action so calls become drafts in their own :class:`Drafts` (``fn.drafts``)."""

    def deco(func: Callable[..., Any]) -> Any:
        box = Drafts(approver)
        wrapped = box.draft_first(func)
        wrapped.drafts = box
        return wrapped

    return deco(fn) if fn is not None else deco
