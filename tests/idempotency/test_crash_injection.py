"""Crash injection (issue 15): a real ``os._exit`` at each step of claim, side effect and record.

Eight processes each run one action and die at a different step; eight more then retry every
action at once, an hour later (their clocks are injected, so every lock has expired). Each
action must have run exactly once, or be reported ``completed_unrecorded`` (to the callers, as
an error naming the key, and by ``opsladder idempotency list``); none may run twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.idempotency import IdempotencyStore, Status

# where each of the eight first-phase processes dies ("" = it does not)
STEPS = ["claim", "claimed", "effect_start", "effect_done", "record", "recorded", "", ""]
UNRECORDED = {"claimed": 0, "effect_start": 0, "effect_done": 1, "record": 1}  # -> effects

# One interpreter imports the package once, then forks the sixteen workers (a fork of a
# single-threaded process: cheap, and each child opens its own connection).
_ZYGOTE = textwrap.dedent(
    """
    import json, os, sys, time
    from pytest_opsladder.idempotency import (
        IdempotencyInProgressError, IdempotencyUnrecordedError, IdempotencyStore, execute)
    target, workflow, effects, outdir, plan = sys.argv[1:6]
    if target.startswith("redis://"):
        import redis  # once here, not in each child

    def work(crash_at, offset, keys, out):
        store = IdempotencyStore.open(target, workflow=workflow, lock_expiry=60,
            redis_server_time=False, clock=lambda: time.time() + offset)
        backend = store.backend

        def step(name):
            if name == crash_at:
                os._exit(17)

        def wrap(op, before, after):
            def wrapped(*args):
                step(before)
                result = op(*args)
                step(after)
                return result
            return wrapped

        backend.begin = wrap(backend.begin, "claim", "claimed")
        backend.complete = wrap(backend.complete, "record", "recorded")
        outcomes = {}
        for key in keys:
            def action(key=key):
                step("effect_start")
                fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                os.write(fd, (key + "\\n").encode())
                os.fsync(fd)
                os.close(fd)
                step("effect_done")
                outcomes[key] = "ran"
                return key
            try:
                execute(store, key, {"key": key}, action)
                outcomes.setdefault(key, "replayed")
            except IdempotencyUnrecordedError as exc:
                outcomes[key] = "unrecorded" if exc.key.endswith(key) else "wrong key"
            except IdempotencyInProgressError:
                outcomes[key] = "in_progress"
        with open(out, "w") as f:
            json.dump(outcomes, f)

    codes = []
    for phase, workers in enumerate(json.loads(plan)):
        pids = []
        for i, (crash_at, offset, keys) in enumerate(workers):
            pid = os.fork()
            if pid == 0:
                try:
                    work(crash_at, offset, keys, os.path.join(outdir, f"{phase}-{i}.json"))
                finally:
                    os._exit(0)
            pids.append(pid)
        codes.append([os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids])
    print(json.dumps(codes))
    """
)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_every_action_runs_once_or_is_reported_unrecorded(
    backend: str,
    tmp_path: Path,
    workflow: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = str(tmp_path / "idem.sqlite")
    if backend == "redis":
        target = request.getfixturevalue("redis_server")
    effects, keys = tmp_path / "effects.log", [f"act-{i}" for i in range(len(STEPS))]
    crashing = [[step, 0, [key]] for step, key in zip(STEPS, keys, strict=True)]
    retrying = [["", 3600, keys]] * 8  # an hour later: every lock has expired
    args = [target, workflow, str(effects), str(tmp_path), json.dumps([crashing, retrying])]
    zygote = subprocess.run(
        [sys.executable, "-c", _ZYGOTE, *args], capture_output=True, text=True, timeout=120
    )
    assert zygote.returncode == 0, zygote.stderr
    assert json.loads(zygote.stdout) == [[17 if s else 0 for s in STEPS], [0] * 8]
    outputs = [json.loads((tmp_path / f"1-{i}.json").read_text()) for i in range(8)]

    counts = Counter(effects.read_text().split())
    store = IdempotencyStore.open(target, workflow=workflow)
    for step, key in zip(STEPS, keys, strict=True):
        seen = Counter(out[key] for out in outputs)
        record = store.get(key)
        assert record is not None
        if step in UNRECORDED:
            assert record.status is Status.COMPLETED_UNRECORDED, step
            assert counts[key] == UNRECORDED[step], step
            assert seen == {"unrecorded": 8}, step
        else:
            assert record.status is Status.COMPLETED, step
            assert counts[key] == 1, step  # exactly once: by the first process or one retry
            assert set(seen) <= {"ran", "replayed", "in_progress"}, step
    assert max(counts.values()) == 1

    assert main(["idempotency", "list", target, "--prefix", workflow]) == 0
    listing = capsys.readouterr().out
    assert f"8 key(s), {len(UNRECORDED)} completed_unrecorded" in listing
    for step, key in zip(STEPS, keys, strict=True):
        line = next(line for line in listing.splitlines() if line.endswith(f":{key}"))
        assert line.startswith("completed_unrecorded" if step in UNRECORDED else "completed ")
    store.backend.clear(workflow)
