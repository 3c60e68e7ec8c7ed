"""No secret leaves (issue 14): the corpus of placements and formats, against every writer."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from secret_corpus import CORPUS, FORMATS, JOINABLE, PLACES, Entry, fresh_run

from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.drift.gate import GateConfig
from pytest_opsladder.drift.shards import write_shard
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.reports.writer import write_reports
from pytest_opsladder.secrets import CassetteSecretError, scan
from pytest_opsladder.store.runs import write_run


def on_disk(root: Path) -> str:
    """Every byte under ``root``, as text (the needles are ASCII)."""
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def leaked(entry: Entry, root: Path) -> list[str]:
    text = on_disk(root)
    return [n for n in entry.needles if n in text]


def placed(entry: Entry) -> Run:
    run = fresh_run()
    entry.put(run)
    run.finish(run.output)
    return run


def test_the_corpus_covers_every_class_of_the_issue() -> None:
    assert len(CORPUS) >= 80
    ids = {e.id for e in CORPUS}
    assert {f"{f}-{p}" for f in FORMATS for p in PLACES} <= ids
    for needed in (
        "sse_delta_split", "sse_raw_split", "aws_secret_field", "pgp-tool_arg", "base64_key",
        "query_secret", "query_auth", "query_session", "query_code", "query_private_token",
        "header_service_token", "header_private_token", "header_session_id", "form_password",
        "query_pct_key", "multipart_password", "percent_pem",
    ):  # fmt: skip
        assert needed in ids


@pytest.mark.parametrize("entry", CORPUS, ids=[e.id for e in CORPUS])
def test_a_test_cassette_holding_it_is_refused_and_the_previous_one_stays(
    entry: Entry, tmp_path: Path
) -> None:
    path = tmp_path / "cassettes" / "case" / "v.json"
    files.save(fresh_run(), path)
    before = path.read_bytes()
    run = placed(entry)
    with pytest.raises(CassetteSecretError) as info:
        files.save(run, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["v.json"]
    message = str(info.value)
    assert run.run_id in message
    assert info.value.run_id == run.run_id
    assert info.value.json_path.startswith("$.")
    assert info.value.json_path in message
    assert not [n for n in entry.needles if n in message]
    assert leaked(entry, tmp_path) == []


@pytest.mark.parametrize("entry", CORPUS, ids=[e.id for e in CORPUS])
def test_the_production_store_keeps_the_run_with_the_value_redacted(
    entry: Entry, tmp_path: Path
) -> None:
    run = placed(entry)
    written = write_run(tmp_path / "runs", run.to_dict(), index=True)
    kept = files.load(written)
    assert (kept.run_id, kept.status.value) == (run.run_id, "complete")
    assert len(kept.events) == len(run.events)
    assert leaked(entry, tmp_path) == []


def test_shards_results_json_and_reports_hold_no_secret(tmp_path: Path) -> None:
    results = sample_results(len(CORPUS), seed=5, epochs=1, regress_fraction=0.2)
    for case, entry in zip(results["cases"], CORPUS, strict=True):
        run = case["candidate"]["runs"][0]
        run["output_text"] = json.dumps(placed(entry).to_dict())
    write_reports(results, tmp_path / "report")
    table = pd.DataFrame(
        [{"case_id": e.id, "output": json.dumps(placed(e).to_dict()), "x": 1.0} for e in CORPUS]
    )
    meta = {e.id: placed(e).to_dict() for e in CORPUS}
    write_shard(
        tmp_path / "shard.jsonl", table, baseline="a", candidate="b", gate=GateConfig(),
        extra={"case_meta": meta},
    )  # fmt: skip
    text = on_disk(tmp_path)
    assert sorted((tmp_path / "report").iterdir())
    assert [e.id for e in CORPUS if any(n in text for n in e.needles)] == []


@pytest.mark.parametrize(
    "data",
    [
        {"logprobs": {"content": [{"token": "Hello", "logprob": -0.1}]}},
        {"usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}},
        {"id": "chatcmpl-9xYz8wVu7tSr6qPo5nMl4kJi", "system_fingerprint": "fp_44709d6fcb"},
        {"type": "thinking", "thinking": "hmm", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxB"},
        {"token_type": "bearer", "expires_in": 3600, "max_tokens": 512},
        {"key": "customer_name", "code": "invalid_request_error", "auth": "none"},
        {"password": "", "secret": "<scrubbed>", "api_key": "[REDACTED]"},
        {"text": "Reset your password from the account page; the token expires soon."},
        {"tools_hash": "39c97ab1bb3e780f", "run_id": "815a47c5f0dfb4a5aa12bb34cc56dd78"},
        {"url": "https://api.openai.com/v1/chat/completions?stream=true"},
        {"idempotency_key": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        {"params": [{"name": "temperature", "value": "0.7"}, {"key": "auth", "value": "none"}]},
        {"env": [{"name": "SESSION_LOCALE", "value": "en-US"}, {"name": "A", "value": None}]},
        {"text": "a risk-ant-colony-optimisation-heuristic and the task-proj-management-tool"},
        # commands and code that name a credential without holding one
        {"command": "echo $PW | docker login --password-stdin --username ci ghcr.io"},
        {"text": "Run it with --password followed by your password, or --token-file tok.txt"},
        {"command": 'curl -u "$API_USER:$API_PASS" https://api.local/v1 && curl -u ann: h'},
        {"command": "curl -u user:password https://h && curl -u <user>:<password> https://h"},
        {"command": "mysql -u root -p app_db; mkdir -p /tmp/out; ssh -p 2222 host"},
        {"command": "docker run -u 1000:1000 -p 8080:80 nginx && sshpass -p $SSHPASS ssh h"},
        {"code": "requests.get(url, auth=(user, password)); HTTPBasicAuth(u, os.environ['P'])"},
        {"argv": ["deploy", "--password-file", "/run/secrets/db", "--secret-name", "prod/db"]},
        {"argv": ["gh", "auth", "login", "--with-token"], "auth": ["bearer", "none"]},
        {"text": "Your password\tunchanged\nmachine list\npassword reset\nlogin page"},
    ],
)
def test_ordinary_model_and_tool_data_is_not_taken_for_a_secret(data: object) -> None:
    assert scan(data) == []


def test_the_refusal_does_not_print_a_key_held_in_the_case_id_or_the_cassette_path(
    tmp_path: Path,
) -> None:
    """A test parametrized by a key names its case and its cassette after it: the error shows
    neither (pytest prints it in the terminal and in CI logs)."""
    key = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
    run = Run(Case(f"test_call[{key}]"), Variant("v", model="m1"))
    path = tmp_path / f"test_call_{key}-f06e40" / "v.json"
    with pytest.raises(CassetteSecretError) as info:
        files.save(run, path)
    message = str(info.value)
    assert key not in message
    assert "$.case.id" in message
    assert str(tmp_path) in message
    assert not path.parent.exists()


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_random_base64_is_not_taken_for_a_joined_token(encode: Any) -> None:
    """An image or an encrypted reasoning item: 1.6 MB of random base64 (or base64url) holds
    the formats' prefixes by chance, joined to the letters before them; none is a token."""
    rng = random.Random(20261130)
    blobs = [encode(rng.randbytes(300_000)).decode() for _ in range(4)]
    content = [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b}"}}
               for b in blobs]  # fmt: skip
    assert scan({"messages": [{"role": "user", "content": content}]}) == []


@pytest.mark.parametrize("fmt", JOINABLE)
def test_a_prefix_deep_inside_a_base64_run_is_not_a_token(fmt: str) -> None:
    """Inside a base64url run a prefix stands after an underscore with a long run before it,
    or after two letters: the chance shapes of a random blob, made certain here."""
    rng = random.Random(fmt)
    run = base64.urlsafe_b64encode(rng.randbytes(600)).decode().replace("_", "a")
    token = FORMATS[fmt]
    blobs = [run[:300] + "_" + token + run[300:], run[:300] + "Ab" + token + run[300:]]
    assert scan({"encrypted_content": blobs}) == []
