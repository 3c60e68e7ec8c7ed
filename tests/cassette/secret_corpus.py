"""The corpus of secret formats and placements the scanner is held to (issue 14).

Formats are the credential shapes an agent meets; placements are every part of a run that is
written to disk. Each entry of :data:`CORPUS` puts one secret in one place of a fresh run and
says which strings must never reach a file (the secret, and its encoded form when encoded).
"""

from __future__ import annotations

import base64
import enum
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
    "\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)
PGP = (
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n"
    "lQOYBGR3x2EBCADJ8fY3jKq9Lz0vN1pQwErTyUiOpAsDfGhJkLzXcVbNm1Q2W3E4"
    "\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----"
)
OPENSSH = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
    "\n-----END OPENSSH PRIVATE KEY-----"
)
OPENAI = "sk-proj-" + "Qz8rT2vX9mL4nB7c" * 2

# Provider formats found by the shared pattern registry (ours and detect-secrets').
FORMATS: dict[str, str] = {
    "openai": OPENAI,
    "anthropic": "sk-ant-api03-" + "Hj3kL9mN2pQ5rS8t" * 2,
    "aws_key_id": "AKIAQ7W3E9R2T5Y8U1I4",
    "github": "ghp_" + "Xy7Wv6Ut5Sr4Qp3On2Ml1Kj0Ih9Gf8Ed7Cb6",
    "gitlab": "glpat-Ab3De6Gh9Jk2Mn5Pq8St",
    "google": "AIzaSyD3f5H7j9K1m3N5p7Q9r1T3v5X7z9B1d3F",
    "slack": "xoxb-2291234567-A9b8C7d6E5f4",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "huggingface": "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
    "sendgrid": "SG.Ab1Cd2Ef3Gh4Ij5Kl6Mn7O.Pq8Rs9Tu0Vw1Xy2Za3Bc4De5Fg6Hi7Jk8Lm9No0Pq1Rs2T",
    "twilio": "SK0123456789abcdef0123456789abcdef",
    "pem": PEM,
    "pgp": PGP,
    "openssh": OPENSSH,
    # the platforms agents are built on: inference, tracing, vector stores, tool APIs
    "groq": "gsk_" + "Tq4Wz8Rb2Yx6Nc1Vm5Lk9Hj3Gf7Dd0Sa" * 1 + "P3oI8uY6tR2eW4qZ9xC1vB7n",
    "xai": "xai-" + "Lm3Nb7Vc1Xz5Qw9Er2Ty6Ui0Op4As8Df" * 2 + "Gh2Jk6Lp",
    "perplexity": "pplx-" + "a9B8c7D6e5F4g3H2i1J0k9L8m7N6o5P4q3R2s1T0u9V8w7X6",
    "replicate": "r8_" + "Zx8Cv6Bn4Mq2Wl0Ek9Rj7Th5Yg3Uf1Id8Os2Q",
    "fireworks": "fw_" + "3ZkQp8Lm2Nx7Vb4Rt9Yw1Se6",
    "langsmith": "lsv2_pt_" + "b5d7f38a45954e3bb5c60d13558c3664" + "_903b445eb8",
    "pinecone": "pcsk_" + "4kP9qz_" + "T8rWx3Ln6Vb1Mc5Zq9Ha2Jd7Kf4Gs0Pe8Ry3Ui6Oo1Lk5Mn",
    "databricks": "dapi" + "0123456789abcdef0123456789abcdef" + "-2",
    "supabase": "sbp_" + "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
    "linear": "lin_api_" + "Kd8Fj3Lq9Wm2Xn7Bv4Rt6Yp1Zs5Hc0Ga8Ue3Io7P",
    "notion": "ntn_" + "48159207385aB3cD5eF7gH9iJ1kL3mN5oP7qR9sT1uV",
    "shopify": "shpat_" + "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
    "doppler": "dp.st.prd." + "Rk4Lm8Nq2Vx6Zb1Cw5Ey9Gt3Hu7Ji0Ko4Lp8Mq2Ns6",
    "tavily": "tvly-dev-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv",
    "mailgun": "key-" + "3ax6xnjp29jd6fds4gc373sgvjxteol0",
    "discord_webhook": "https://discord.com/api/webhooks/1122334455667788990/"
    + "Xk3Lm9Qp2Wz8Rt5Yv1Bn7Mc4Hj6Gf0Ds2Ea9Sw3Ed7Rf5Tg1Yh8Uj4Ik6Ol0Pa2Sd5Fg9Hj",
    "google_oauth": "ya29.a0AfB_byC" + "Xq7Lm2Nv9Bz4Wk8Rt3Yp6Hs1Gd5Fj0Kl" * 2,
    "digitalocean": "dop_v1_" + "0123456789abcdef" * 4,
    "age": "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" + "QPZRY9X8GF2TVDW0S3JN54KHCE",
}


def fresh_run() -> Run:
    run = Run(Case("corpus", {"q": "refund order 1142"}), Variant("v", model="m1"))
    run.emit("tool_call", "lookup", {"args": {"order": 1142}, "result": {"ok": True}})
    return run


def _tool_arg(run: Run, s: str) -> None:
    run.emit("tool_call", "send", {"args": {"to": "ops", "body": f"use {s} now"}, "result": 1})


def _tool_result(run: Run, s: str) -> None:
    run.emit("tool_call", "vault", {"args": {"id": 7}, "result": {"note": f"value: {s}"}})


def _tool_error(run: Run, s: str) -> None:
    error = {"type": "ValueError", "module": "builtins", "message": f"bad key {s}"}
    run.emit("tool_call", "auth", {"args": {}, "error": error})


def _output(run: Run, s: str) -> None:
    run.output = {"answer": f"Here it is: {s}"}


def _case_input(run: Run, s: str) -> None:
    run.case = Case("corpus", {"ticket": f"my key is {s}, please fix"})


def _decision(run: Run, s: str) -> None:
    run.emit("decision", "route", {"choice": "escalate", "why": [f"found {s}"]})


def _run_error(run: Run, s: str) -> None:
    run.error = {"type": "RuntimeError", "module": "builtins", "message": f"denied for {s}"}


def _http_body(run: Run, s: str) -> None:
    run.http.append(_interaction(response={"text": json.dumps({"data": {"k": s}})}))


PLACES: dict[str, Callable[[Run, str], None]] = {
    "tool_arg": _tool_arg,
    "tool_result": _tool_result,
    "tool_error": _tool_error,
    "output": _output,
    "case_input": _case_input,
    "decision": _decision,
    "run_error": _run_error,
    "http_body": _http_body,
}


def _interaction(
    *,
    url: str = "http://127.0.0.1/v1/x",
    headers: dict[str, list[str]] | None = None,
    request: dict[str, str] | None = None,
    response: dict[str, str] | None = None,
    chunks: list[str] | None = None,
) -> dict[str, Any]:
    resp: dict[str, Any] = {"status": 200, "reason": "OK", "headers": {}}
    if chunks is not None:
        resp["headers"] = {"content-type": ["text/event-stream"]}
        resp["chunks"] = [{"t": 0.01 * i, "text": c} for i, c in enumerate(chunks)]
    else:
        resp["body"] = response or {"text": "{}"}
    return {
        "request": {"method": "POST", "url": url, "headers": headers or {}, "body": request},
        "response": resp,
    }


@dataclass(frozen=True)
class Entry:
    """One secret in one place; ``needles`` must appear in no written file."""

    id: str
    put: Callable[[Run], None]
    needles: tuple[str, ...]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


RANDOM = "q7Xv2LmN9pR4sT8wZ1bC5dF0"  # a high-entropy credential value


def _named_entries() -> list[Entry]:
    """Credentials known by the name they are stored under, or only once decoded or joined."""
    http = lambda **kw: lambda run: run.http.append(_interaction(**kw))  # noqa: E731
    sse_split = [
        'data: {"choices":[{"delta":{"content":"key ' + OPENAI[:14] + '"}}]}\n\n',
        'data: {"choices":[{"delta":{"content":"' + OPENAI[14:] + ' ok"}}]}\n\n',
    ]
    raw_split = [f"data: {OPENAI[:10]}", f"{OPENAI[10:]}\n\n"]
    pct = quote(PEM, safe="")
    return [
        Entry("json_password", _arg({"password": "S3cure!pass"}), ("S3cure!pass",)),
        Entry("json_passwd", _arg({"db_passwd": "hunter22"}), ("hunter22",)),
        Entry("json_client_secret", _arg({"client_secret": RANDOM}), (RANDOM,)),
        Entry("json_auth", _arg({"auth": RANDOM}), (RANDOM,)),
        Entry("json_session", _arg({"session": RANDOM}), (RANDOM,)),
        Entry("json_private_token", _arg({"privateToken": RANDOM}), (RANDOM,)),
        Entry("json_api_key_camel", _arg({"apiKey": RANDOM}), (RANDOM,)),
        Entry("json_credentials", _arg({"credentials": "Tr0ub4dor&3"}), ("Tr0ub4dor&3",)),
        Entry("json_cookie", _arg({"cookie": f"sid={RANDOM}"}), (RANDOM,)),
        Entry(
            "json_nested_secret", _arg({"cfg": [{"secret": "n0t-s0-s3cret"}]}), ("n0t-s0-s3cret",)
        ),
        Entry("aws_secret_field", _arg({"AWS_SECRET_ACCESS_KEY": AWS_SECRET}), (AWS_SECRET,)),
        Entry("aws_secret_text", _result(f"aws_secret_access_key = {AWS_SECRET}"), (AWS_SECRET,)),
        Entry("query_secret", http(url=f"http://h/x?secret={RANDOM}"), (RANDOM,)),
        Entry("query_auth", http(url=f"http://h/x?auth={RANDOM}&q=1"), (RANDOM,)),
        Entry("query_session", http(url=f"http://h/x?session={RANDOM}"), (RANDOM,)),
        Entry("query_code", http(url=f"http://h/cb?code={RANDOM}&state=x"), (RANDOM,)),
        Entry("query_private_token", http(url=f"http://h/x?private_token={RANDOM}"), (RANDOM,)),
        Entry(
            "query_pct_key",
            http(url="http://h/x?q=" + quote(OPENAI, safe="").replace("-", "%2D")),
            (OPENAI,),
        ),
        Entry("header_service_token", http(headers={"x-service-token": [RANDOM]}), (RANDOM,)),
        Entry("header_private_token", http(headers={"private-token": [RANDOM]}), (RANDOM,)),
        Entry("header_session_id", http(headers={"x-session-id": [RANDOM]}), (RANDOM,)),
        Entry(
            "form_password",
            http(request={"text": "user=ann&password=S3cure!pass"}),
            ("S3cure!pass",),
        ),
        Entry(
            "multipart_password",
            http(request={"text": _multipart("password", "S3cure!pass")}),
            ("S3cure!pass",),
        ),
        Entry("base64_key", _result(_b64(OPENAI)), (_b64(OPENAI), OPENAI)),
        Entry("base64_pem", _result({"blob": _b64(PEM)}), (_b64(PEM),)),
        Entry(
            "base64_body",
            http(response={"base64": _b64("\xff" + OPENAI)}),
            (_b64("\xff" + OPENAI),),
        ),
        Entry("percent_pem", _result(pct), (pct,)),
        Entry("sse_delta_split", http(chunks=sse_split), (OPENAI,)),
        Entry(
            "sse_delta_split_among_ids",
            http(chunks=_openai_chunks(OPENAI)),
            (OPENAI[10:21], OPENAI[21:]),  # each piece: a redacting writer masks all of them
        ),
        Entry("output_str_enum", _set_output([_Keys.OPENAI]), (OPENAI,)),
        Entry("yaml_nested_password", _result(_COMPOSE), ("S3cr3tP4ss-prod",)),
        *(
            Entry(f"{codec}_body", http(response={"base64": _wide(codec)}), (_wide(codec),))
            for codec in ("utf-16", "utf-16-be", "utf-32")
        ),
        Entry("telegram_bot_url", http(url=f"http://h/bot{_TELEGRAM}/getMe"), (_TELEGRAM,)),
        Entry("output_ordered_dict", _set_output(OrderedDict(key=OPENAI)), (OPENAI,)),
        Entry("tool_arg_str_subclass", _arg({"name": _Token(f"k {OPENAI}")}), (OPENAI,)),
        Entry("tool_result_list_subclass", _result(_Items([RANDOM_KEYED])), (RANDOM,)),
        Entry("sse_raw_split", http(chunks=raw_split), (OPENAI,)),
        Entry("url_password", _result("postgres://app:Zq9!xLr2vN@db:5432/prod"), ("Zq9!xLr2vN",)),
        Entry("bearer_in_text", _result(f"Authorization: Bearer {RANDOM}"), (RANDOM,)),
        Entry("secret_as_key", _result({OPENAI: "x"}), (OPENAI,)),
        Entry("event_data_token", _event({"token": RANDOM + "9Z"}), (RANDOM,)),
        Entry("variant_param", _variant({"api_key": RANDOM}), (RANDOM,)),
        # a credential pair inside the value of a pair whose name is not a credential's
        Entry("pair_in_a_value", _result("note: password=S3cure!pass"), ("S3cure!pass",)),
        Entry("pair_in_a_value_eq", _set_output(f"cfg=api_key={RANDOM}"), (RANDOM,)),
        Entry("env_line_pair", _arg({"env": "DATABASE_URL: password=Zq9!xLr2vN"}), ("Zq9!xLr2vN",)),
        # a command-line flag's value (a shell tool's argument), a Redis URL with no user
        Entry(
            "cli_flag_password",
            _arg({"command": "mysql -u root --password=S3cr3tP4ss-prod app"}),
            ("S3cr3tP4ss-prod",),
        ),
        Entry("cli_flag_api_key", _result(f"deploy -api-key={RANDOM} ok"), (RANDOM,)),
        Entry("redis_url_no_user", _result("redis://:Zq9xLr2vN7@cache:6379/0"), ("Zq9xLr2vN7",)),
        # an XML element (Maven's settings.xml), Go's :=, an Authorization scheme in text
        Entry(
            "xml_element_password",
            _result("<server><id>repo</id><password>S3cr3tP4ss-prod</password></server>"),
            ("S3cr3tP4ss-prod",),
        ),
        Entry("go_assignment", _arg({"code": f'apiKey := "{RANDOM}"'}), (RANDOM,)),
        Entry("apikey_scheme", _result(f"Authorization: ApiKey {RANDOM}"), (RANDOM,)),
        Entry("env_pass_variable", _result("SMTP_PASS=S3cr3tP4ss-prod\n"), ("S3cr3tP4ss-prod",)),
        Entry("env_pass_field", _arg({"env": {"DB_PASS": "Zq9xLr2vN7"}}), ("Zq9xLr2vN7",)),
        # a credential's name in one delta and its value in the next, as a model streams tokens
        Entry(
            "sse_name_then_value",
            http(chunks=[_sse_delta("my password="), _sse_delta("S3cr3tP4ss-prod ok")]),
            ("S3cr3tP4ss-prod",),
        ),
        Entry(
            "sse_xml_element_split",
            http(chunks=[_sse_delta("<password>"), _sse_delta("Zq9xLr2vN7</password>")]),
            ("Zq9xLr2vN7",),
        ),
        Entry(
            "sse_pair_after_a_bare_field",
            http(chunks=["event\n\n", ": password=S3cure!pass\n\n"]),
            ("S3cure!pass",),
        ),
    ]


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"


RANDOM_KEYED = f"api_key={RANDOM}"
_TELEGRAM = "123456789:AAEhBOweik9ai2o3jgkj4kejkfkjejfjekf"
_COMPOSE = "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: S3cr3tP4ss-prod\n"


class _Token(str):
    """A str subclass, as SDKs and settings libraries use for secrets and ids."""


class _Items(list[str]):
    """A list subclass."""


class _Keys(enum.StrEnum):
    OPENAI = OPENAI


def _wide(codec: str) -> str:
    """A JSON body holding a key, in UTF-16 or UTF-32 (``charset=utf-16``), as recorded."""
    return base64.b64encode(json.dumps({"token": OPENAI}).encode(codec)).decode()


def _set_output(value: Any) -> Callable[[Run], None]:
    return lambda run: setattr(run, "output", value)


def _sse_delta(text: str) -> str:
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}) + "\n\n"


def _openai_chunks(key: str) -> list[str]:
    """A chat completion streamed as the API streams it: an id, the model and a fingerprint in
    every event, between the pieces of the content's deltas."""
    pieces = ["key " + key[:10], key[10:21], key[21:] + " ok"]
    head = {"id": "chatcmpl-9x", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    return [
        "data: " + json.dumps({**head, "choices": [{"index": 0, "delta": {"content": p}}]}) + "\n\n"
        for p in pieces
    ]


def _multipart(name: str, value: str) -> str:
    return (
        f'--b0undary\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        "--b0undary--\r\n"
    )


def _arg(args: dict[str, Any]) -> Callable[[Run], None]:
    return lambda run: run.emit("tool_call", "login", {"args": args, "result": "ok"}) and None


def _result(result: Any) -> Callable[[Run], None]:
    return lambda run: run.emit("tool_call", "fetch", {"args": {}, "result": result}) and None


def _event(data: dict[str, Any]) -> Callable[[Run], None]:
    return lambda run: run.emit("decision", "d", data) and None


def _variant(params: dict[str, Any]) -> Callable[[Run], None]:
    def put(run: Run) -> None:
        run.variant = Variant("v", model="m1", params=params)

    return put


def _placed(fmt: str, place: str) -> Entry:
    secret = FORMATS[fmt]
    return Entry(f"{fmt}-{place}", lambda run: PLACES[place](run, secret), (secret,))


# Formats whose token may stand joined to what comes before it (where ``\b`` fails).
JOINABLE = (
    "openai", "anthropic", "aws_key_id", "github", "gitlab", "google", "slack", "stripe",
    "huggingface", "jwt", "sendgrid",
)  # fmt: skip


def _protobuf(token: str) -> str:
    """A protobuf message holding ``token`` in a string field, as a gRPC body is recorded
    (base64): the field's length byte right before the token is a letter ('A' or 'a')."""
    length = 65 if len(token) <= 65 else 97
    field = token.encode().ljust(length, b"\x00")
    return base64.b64encode(b"\x08\x96\x01\x12" + bytes([length]) + field + b"\xff").decode()


def _joined(fmt: str) -> list[Entry]:
    secret = FORMATS[fmt]
    http = lambda **kw: lambda run: run.http.append(_interaction(**kw))  # noqa: E731
    body = _protobuf(secret)
    return [
        Entry(f"{fmt}-after_identifier", _result(f"cache key user_{secret} rotated"), (secret,)),
        Entry(f"{fmt}-protobuf_field", http(response={"base64": body}), (secret, body)),
    ]


def _pair_entries() -> list[Entry]:
    """Values named by a field beside them: Kubernetes env lists, HAR headers, AWS tags."""
    password = {"name": "DB_PASSWORD", "value": "S3cr3tP4ss-prod"}
    k8s = {"env": [{"name": "LOG_LEVEL", "value": "debug"}, password]}
    har = {"headers": [{"name": "X-Api-Key", "value": RANDOM}]}
    tags = {"Tags": [{"Key": "client_secret", "Value": RANDOM}]}
    cfn = [{"ParameterKey": "DbPassword", "ParameterValue": "S3cr3tP4ss-prod"}]
    return [
        Entry("k8s_env_pair", _result(k8s), ("S3cr3tP4ss-prod",)),
        Entry("har_header_pair", _arg(har), (RANDOM,)),
        Entry("aws_tag_pair", _result(tags), (RANDOM,)),
        Entry("cloudformation_parameter_pair", _set_output(cfn), ("S3cr3tP4ss-prod",)),
    ]


def _command_entries() -> list[Entry]:
    """Credentials a shell or code-writing agent passes as a command's or a call's arguments:
    a flag's value after a space, a tool's own password flag, ``user:password`` after curl's
    ``-u``, an argv list, a (user, password) pair, a .netrc, a tab-separated row."""
    pw, key = "S3cr3tP4ss-prod", RANDOM
    cmd = lambda text: _arg({"command": text})  # noqa: E731
    return [
        Entry(
            "flag_space_password", cmd(f"docker login --username ci --password {pw} ghcr.io"), (pw,)
        ),
        Entry("flag_space_token", _result(f"ran: kubectl --token {key} get pods"), (key,)),
        Entry("flag_space_quoted", cmd(f"vault-cli --db-password '{pw}' sync"), (pw,)),
        Entry("argv_list_password", _arg({"argv": ["mysql", "-h", "db", "--password", pw]}), (pw,)),
        Entry("argv_list_in_code", _arg({"code": f'run(["psql", "--password", "{pw}"])'}), (pw,)),
        Entry("mysql_attached_p", cmd(f"mysql -u root -p{pw} app"), (pw,)),
        Entry("sshpass_p", cmd("sshpass -p 'Zq9xLr2vN7' ssh deploy@web1 uptime"), ("Zq9xLr2vN7",)),
        Entry(
            "docker_login_p",
            cmd("docker login -u ci -p Zq9xLr2vN7 registry.local"),
            ("Zq9xLr2vN7",),
        ),
        Entry("redis_cli_a", cmd("redis-cli -h cache -a Zq9xLr2vN7 ping"), ("Zq9xLr2vN7",)),
        Entry(
            "curl_user_colon", cmd("curl -u admin:Zq9xLr2vN7 https://api.local/v1"), ("Zq9xLr2vN7",)
        ),
        Entry("curl_user_long", _result(f'curl --user "ci-bot:{pw}" https://h/x'), (pw,)),
        Entry(
            "requests_auth_tuple", _arg({"code": f"requests.get(u, auth=('admin', '{pw}'))"}), (pw,)
        ),
        Entry(
            "basic_auth_class", _result('aiohttp.BasicAuth("svc", "Zq9xLr2vN7")'), ("Zq9xLr2vN7",)
        ),
        Entry("auth_pair_list", _arg({"auth": ["admin", pw]}), (pw,)),
        Entry("netrc_inline", _result(f"machine api.local login ann password {pw}\n"), (pw,)),
        Entry(
            "netrc_lines",
            _result(f"machine api.heroku.com\n  login me@example.com\n  password {pw}\n"),
            (pw,),
        ),
        Entry("tab_separated_password", _result(f"user\tann\npassword\t{pw}\n"), (pw,)),
        Entry("httpie_auth", cmd("http -a ann:Zq9xLr2vN7 POST https://h/x"), ("Zq9xLr2vN7",)),
        Entry("wget_user", cmd(f"wget --http-user=ann:{pw} https://h/f"), (pw,)),
        Entry("argv_tuple", _result(("redis-cli", "--pass", "x", "--password", pw)), (pw,)),
        Entry(
            "sse_command_streamed",  # a model writing the command, the password in its own delta
            lambda run: run.http.append(
                _interaction(
                    chunks=[
                        _sse_delta("Run: curl -u admin:"),
                        _sse_delta("Zq9xLr2vN7"),
                        _sse_delta(" https://h"),
                    ]
                )
            ),
            ("Zq9xLr2vN7",),
        ),
    ]


CORPUS: list[Entry] = [
    *(_placed(f, p) for f in FORMATS for p in PLACES),
    *_named_entries(),
    *(entry for fmt in JOINABLE for entry in _joined(fmt)),
    *_pair_entries(),
    *_command_entries(),
]
