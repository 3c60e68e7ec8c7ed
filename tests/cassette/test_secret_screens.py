"""The scanner's speed-ups find exactly what the plain rules find (issue 18, on issue 14's rules).

``secret_rules`` runs a built-in format only on a text holding one of its literals (or, for the
four formats without one, passing a screen implied by the pattern), and looks for credential
``name=value`` pairs only in the stretches of text around a credential word. Each of these
must be a necessary condition: here every text of a seeded random corpus, built from each
format's shape, credential names, JSON and SSE punctuation, odd case and the characters that
``re``'s IGNORECASE folds to ASCII letters, gets the same hits from the fast path as from the
plain rules (every registered pattern run on the whole text; one search of the name=value
pattern over the whole text).

The recording's screen (``secrets._Screen``) reads the strings of a value in one scan, joined by
a separator: a text with a credential is never called clean among clean ones, and a recorded
completion is called clean exactly when the full walk finds nothing.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
from typing import Any

import orjson
import pytest

from pytest_opsladder import secret_rules, secrets
from pytest_opsladder.observability import redaction
from pytest_opsladder.secret_rules import Hit, detect
from pytest_opsladder.secrets import scan

# A sample of the shape of every built-in format (a match of its pattern); more in MORE.
SAMPLES = {
    "anthropic_key": "sk-ant-api03-Hj3kL9mN2pQ5rS8tHj3kL9mN2pQ5rS8t",
    "openai_key": "sk-proj-Qz8rT2vX9mL4nB7cQz8rT2vX9mL4nB7c",
    "aws_access_key": "AKIAQ7W3E9R2T5Y8U1I4",
    "aws_secret_access_key": "aws_secret_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github_token": "ghp_Xy7Wv6Ut5Sr4Qp3On2Ml1Kj0Ih9Gf8Ed7Cb6",
    "slack_token": "xoxb-2291234567-A9b8C7d6E5f4",
    "stripe_key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "huggingface_token": "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "google_api_key": "AIzaSyD3f5H7j9K1m3N5p7Q9r1T3v5X7z9B1d3F",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
    "bearer": "Bearer q8Zt3LmN5pRw7Yx2Kv4B",
    "basic_auth": "Basic dXNlcjpzM2NyM3QtcGFzcw==",
    "private_key_block": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1Lf\n-----END",
    "url_credentials": "postgres://admin:hunter2pass@db.internal:5432/app",
    "azure_storage_key": "AccountKey=" + "Ab3+" * 22,
    "discord_bot_token": "MTA4NzY1NDMyMTA5ODc2NTQz.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0",
    "gitlab_token": "glpat-Ab3De6Gh9Jk2Mn5Pq8St",
    "mailchimp_key": "0123456789abcdef0123456789abcdef-us12",
    "npm_token": "//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "pypi_token": "pypi-AgE" + "IcHlwaS5vcmc" * 7,
    "sendgrid_key": "SG.Ab1Cd2Ef3Gh4Ij5Kl6Mn7O.Pq8Rs9Tu0Vw1Xy2Za3Bc4De5Fg6Hi7Jk8Lm9No0Pq1Rs2T",
    "slack_webhook": "https://hooks.slack.com/services/T0123ABC/B0456DEF/XyZ123abcDEF456ghi",
    "square_oauth": "sq0csp-" + "Ab3-De6_Gh9" * 4,
    "putty_private_key": "PuTTY-User-Key-File-3: ssh-rsa\nPrivate-MAC: 0a1b2c",
    "telegram_bot_token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
    "twilio_key": "SK0123456789abcdef0123456789abcdef",
}
MORE = (
    "AWS secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws pw=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/ab",
    "token q8Zt3LmN5pRw7Yx2Kv4B",
    "Authorization: TOKEN\tq8Zt3LmN5pRw7Yx2Kv4B==",
    "basic\nQWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    "12345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
    "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
    "ACabcdef0123456789abcdef0123456789",
    "https://user:pa55word@example.com/",
    "NzA4NzY1NDMyMTA5ODc2NTQzMjE.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz0",
    "gho_" + "Ab1" * 11,
    "github_pat_" + "Ab1_" * 11,
    "rk_test_" + "Ab1" * 8,
    "ASIAQ7W3E9R2T5Y8U1I4",
    "A3TXQ7W3E9R2T5Y8U1I4",
    "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    "glrt-Ab3De6Gh9Jk2Mn5Pq8St", "gloas-Ab3De6Gh9Jk2Mn5Pq8St", "sk-svcacct-Qz8rT2vX9mL4nB7cQz",
    "xoxp-2291234567-A9b8C7d6E5f4",
    # passed as a command's or a call's arguments
    "curl -u admin:Zq9xLr2vN7 https://h/x", "mysql -u root -pS3cr3tP4ss app",
    "--token q8Zt3LmN5pRw7Yx2Kv4B", "--password S3cr3tP4ss-prod", '"--password", "S3cr3tP4ss"',
    "auth=('ann', 'S3cr3tP4ss')", "machine h login ann password S3cr3tP4ss",
    "password\tS3cr3tP4ss-1", "sshpass -p Zq9xLr2vN7 ssh h",
)  # fmt: skip
NAMES = (
    "token", "api_key", "apiKey", "password", "privateToken", "X-Session-Id", "auth", "secret",
    "prompt_tokens", "token_type", "monkey", "path", "author", "inside", "code", "otp", "jwt",
)  # fmt: skip
FILLER = (
    'data: {"id": "chatcmpl-af03e2c18473cedbd8c065eb", "object": "chat.completion.chunk", ',
    '"usage": {"prompt_tokens": 19, "completion_tokens": 25}}\n\n', "The token expires soon. ",
    '{"role": "user", "content": "# Note 4\\nBody"}', "&", ",", ";", "}", "<", "]", "[", ">",
    "=", "=>", ":", "://", "'", '"', "\\", " ", "\n", "\t", "-", "_", ".", "/", "+", "==",
    "\u0130", "\u0131", "\u017f", "\u212a", "é", "0", "9", "x",
)  # fmt: skip


def _case(rng: random.Random, text: str) -> str:
    mode = rng.randrange(4)
    if mode == 1:
        return text.upper()
    if mode == 2:
        return text.lower()
    if mode == 3:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in text)
    return text


def _spaces(rng: random.Random, text: str) -> str:
    """Another whitespace character where the sample has one (``\\s`` in the patterns)."""
    if rng.random() < 0.5:
        return text
    return "".join(
        rng.choice((" ", "\t", "\n", "\u00a0", "\u2003")) if c.isspace() else c for c in text
    )


def _piece(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        sample = _spaces(rng, rng.choice((*SAMPLES.values(), *MORE)))
        cut = rng.randrange(len(sample) + 1) if rng.random() < 0.2 else len(sample)
        return _case(rng, sample[:cut]) if rng.random() < 0.3 else sample[:cut]
    if kind == 1:
        sep = rng.choice(("=", ": ", '": "', "=>", " = '", ':"'))
        value = rng.choice(
            ("q8Zt3LmN5pRw7Yx2Kv4Bc", "hunter2!", "none", "Bearer abcDEF1234567890xyz")
        )
        return _case(rng, rng.choice(NAMES)) + sep + value
    if kind == 2:
        return 'Content-Disposition: form-data; name="password"\r\n\r\ns3cr3t-Pa55\r\n'
    if kind == 3:  # a format, or plain words, base64-encoded (a secret in a base64 body)
        plain = rng.choice((*SAMPLES.values(), "hello there, nothing to see", "token=abc"))
        encode = base64.urlsafe_b64encode if rng.random() < 0.5 else base64.b64encode
        return encode(plain.encode()).decode().rstrip("=" if rng.random() < 0.5 else "")
    return rng.choice(FILLER)


def corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(_piece(rng) for _ in range(rng.randrange(1, 12))) for _ in range(n)]


TEXTS = corpus(4000, seed=18)


def plain_pattern_hits(text: str) -> list[Hit]:
    """Every registered pattern but level-3's own key_value, run on the whole text."""
    out: list[Hit] = []
    for kind, pattern in redaction.registered_patterns().items():
        if kind not in secret_rules._SKIP_PATTERNS:
            secret_rules._matches(text, ((kind, pattern),), out)
    return out


def plain_named_hits(text: str) -> list[Hit]:
    """The name=value rule over the whole text (a pair inside another pair's value too), and
    one search of the multipart and the XML element patterns."""
    out: list[Hit] = []
    secret_rules._key_value_hits(text, 0, len(text), out)
    secret_rules._credential_values(secret_rules._MULTIPART.finditer(text), out)
    secret_rules._credential_values(secret_rules._XML_ELEMENT.finditer(text), out)
    return out


def plain_base64_hits(text: str, name: str | None) -> list[Hit]:
    """Every base64 run decoded and read, one after another."""
    out = []
    for match in secret_rules._BASE64_RUN.finditer(text):
        decoded = secret_rules._b64decode(match.group(0))
        inner = detect(decoded, name, depth=1) if decoded is not None else []
        if inner:
            out.append(Hit(*match.span(), f"base64-encoded {inner[0].kind}"))
    return out


def test_the_corpus_holds_every_format_and_credential_names() -> None:
    found = {h.kind for t in TEXTS for h in plain_pattern_hits(t)}
    assert found == set(SAMPLES)
    named = sum(bool(plain_named_hits(t)) for t in TEXTS)
    assert named > len(TEXTS) // 10


def test_the_literal_screens_find_what_every_pattern_finds() -> None:
    differ = [
        t
        for t in TEXTS
        if sorted(
            secret_rules._pattern_hits(t, secret_rules._literals_in(secret_rules.fold(t))),
            key=repr,
        )
        != sorted(plain_pattern_hits(t), key=repr)
    ]
    assert differ == []


def test_names_are_read_in_the_stretches_around_credential_words_only() -> None:
    differ = [
        t
        for t in TEXTS
        if secret_rules._named_hits(t, secret_rules._words_in(secret_rules.fold(t))[1])
        != plain_named_hits(t)
    ]
    assert differ == []


def test_base64_runs_are_read_once_each_and_found_where_each_stands() -> None:
    assert sum(bool(plain_base64_hits(t, None)) for t in TEXTS) > len(TEXTS) // 20
    differ = [
        t
        for t in TEXTS
        for name in (None, "token")
        if secret_rules._base64_hits(t, name) != plain_base64_hits(t, name)
    ]
    assert differ == []


@pytest.mark.parametrize("char", ["\u0130", "\u0131"])
def test_a_letter_ignorecase_takes_for_i_still_finds_the_format(char: str) -> None:
    """``re`` matches (?i)``basic`` in ``basİc``, while ``"basİc".lower()`` is ``"basi̇c"``."""
    text = f"bas{char}c dXNlcjpzM2NyM3QtcGFzcw=="
    assert re.search(r"(?i)\bbasic\s", text)
    assert [h.kind for h in detect(text)] == ["basic_auth"]


def test_a_literal_overhanging_a_longer_one_is_found() -> None:
    """The PuTTY header is a literal; a PEM block starts at its last dash and runs on. Both
    literals are found (a search that went on after the first, as the trie regex did, would
    not see the second), and so is the format."""
    text = "PuTTY-User-Key-File-" + "----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA"
    present = secret_rules._literals_in(text.lower())
    assert {"putty-user-key-file-", "-----begin "} <= present
    assert [h.kind for h in detect(text)] == ["private_key_block"]
    assert [h.kind for h in plain_pattern_hits(text)] == ["private_key_block"]


def test_every_literal_is_found_wherever_it_stands() -> None:
    """Each literal alone, inside another word, overlapping another literal and at the end;
    one that is a word followed by whitespace (``token\\s``) with each whitespace character
    the patterns' ``\\s`` takes, and not when a letter follows (``prompt_tokens``)."""
    spaced = secret_rules._SPACED
    for literal in secret_rules._WORDS:
        word = literal.removesuffix(spaced)
        tails = ("\t", "\n", "\u00a0", " x") if literal.endswith(spaced) else ("", "y")
        for tail in tails:
            for text in (word + tail, f"x{word}{tail}", f"{word}{word}{tail}", f"-{word}{tail}"):
                assert literal in secret_rules._literals_in(text), (literal, text)
        if literal.endswith(spaced):
            assert literal not in secret_rules._literals_in(f"x {word}s y {word}")


def test_a_pattern_registered_by_the_user_runs_on_every_text() -> None:
    remove = redaction.register_secret_pattern("ticket_key", r"TCK-[0-9]{4}")
    try:
        assert [h.kind for h in detect("see TCK-1234")] == ["ticket_key"]
    finally:
        remove()
    assert detect("see TCK-1234") == []


KEY = SAMPLES["openai_key"]


def _stream(*chunks: str, request: str = '{"model": "m", "stream": true}') -> dict[str, Any]:
    return {
        "request": {
            "method": "POST",
            "url": "http://127.0.0.1/v1/chat/completions",
            "headers": {},
            "body": {"text": request},
        },
        "response": {
            "status": 200,
            "headers": {"content-type": ["text/event-stream"]},
            "chunks": [{"t": 0.01 * i, "text": c} for i, c in enumerate(chunks)],
        },
    }


def _delta(text: str) -> str:
    return "data: " + json.dumps({"choices": [{"delta": {"content": text}}]}) + "\n\n"


def _split(text: str, at: str) -> tuple[str, str]:
    cut = text.index(at)
    return text[:cut], text[cut:]


STREAMS = {
    "clean": _stream(_delta("Hello"), _delta(" world"), "data: [DONE]\n\n"),
    "in one chunk": _stream(_delta(f"use {KEY} now")),
    "split across chunks": _stream(*_split(_delta(f"use {KEY} now"), KEY[10])),
    "split across deltas after a quote": _stream(
        _delta('say "hi"\\n ' + KEY[:14]), _delta(KEY[14:])
    ),
    "split across deltas after a tab": _stream(_delta("col\tkey " + KEY[:14]), _delta(KEY[14:])),
    "in the request beside a clean stream": _stream(
        _delta("Hello"), request=json.dumps({"messages": [{"content": f"my key {KEY}"}]})
    ),
}


@pytest.mark.parametrize("name", list(STREAMS))
def test_a_streamed_interaction_is_screened_as_the_full_walk_reads_it(name: str) -> None:
    """The screen walks a stream's response itself (the request keeps its fast path): it
    calls an interaction clean exactly when the walk finds nothing."""
    item = copy.deepcopy(STREAMS[name])
    found = scan(item)
    assert (found == []) is (name == "clean")
    assert secrets._Screen().all_clean(copy.deepcopy(item)) is (found == [])
    secrets.remember(item)
    assert scan(item) == found


def _runs_corpus() -> list[str]:
    """Texts dense in base64's characters and its padding, runs around 20 long, with JSON,
    SSE and non-ASCII around them (the regex reads those, the C path reads ASCII)."""
    rng = random.Random(18)
    pieces = ["=", "==", "===", ".", ":", '"', " ", "\n", "data: ", "é", "\u2028", "\udc80"]
    texts = []
    for _ in range(20_000):
        parts = []
        for _ in range(rng.randint(0, 6)):
            run = "".join(rng.choice("aZ09+/_-") for _ in range(rng.randint(15, 25)))
            parts += [run, rng.choice(pieces)]
        texts.append("".join(parts))
    return texts


def test_base64_runs_are_the_regex_matches() -> None:
    texts = _runs_corpus()
    assert sum(bool(secret_rules._BASE64_RUN.search(t)) for t in texts) > len(texts) // 2
    assert sum(t.isascii() for t in texts) > len(texts) // 4
    for text in texts:
        expected = [m.span() for m in secret_rules._BASE64_RUN.finditer(text)]
        assert secret_rules._base64_runs(text) == expected, repr(text)


def _value_strings(value: Any) -> list[str]:
    """The reference: the strings of a parsed JSON value in document order, keys left out."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [leaf for item in items for leaf in _value_strings(item)]


def _events_corpus() -> list[Any]:
    """JSON events with keys equal to values, quotes, backslashes, escapes, control and
    non-ASCII characters, and colons and braces inside strings."""
    rng = random.Random(11)
    atoms = ['a"b', "c\\d", "k", "x: y", "{", "}", "\u00e9", "\u2028", "\n\t", "/", "", " : "]

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth > 3 or roll < 0.4:
            return "".join(rng.choice(atoms) for _ in range(rng.randint(0, 3)))
        if roll < 0.5:
            return rng.choice([1, 2.5, None, True])
        if roll < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        keys = ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 2))) for _ in range(3)]
        return {k: value(depth + 1) for k in keys}

    return [{"delta": value(0), "k": "k"} for _ in range(3_000)]


@pytest.mark.parametrize("dump", ["json", "json-ascii", "json-compact", "orjson"])
def test_an_events_strings_are_found_as_written(dump: str) -> None:
    """The delta join reads each event's string values from the text as the server wrote it,
    in document order, keys left out, however the server escapes them."""
    writers = {
        "json": lambda v: json.dumps(v, ensure_ascii=False),
        "json-ascii": json.dumps,
        "json-compact": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
        "orjson": lambda v: orjson.dumps(v).decode(),
    }
    for event in _events_corpus():
        line = "data: " + writers[dump](event) + "\n\n"
        found = [m[1] for m in secrets._JSON_STRING.finditer(line) if not m[2]]
        as_read = [json.loads(f'"{leaf}"') for leaf in found]
        assert as_read == _value_strings(event), line


@pytest.mark.parametrize("escape", ["\\u00e9", "\\/", '\\"'])
def test_a_key_split_across_deltas_written_with_escapes_is_found(escape: str) -> None:
    """A server that escapes differently from Python (\\u escapes, an escaped slash) still has
    its deltas joined: a key split across them is found and masked in the chunks."""
    first = 'data: {"choices":[{"delta":{"content":"caf' + escape + " " + KEY[:14] + '"}}]}\n\n'
    second = 'data: {"choices":[{"delta":{"content":"' + KEY[14:] + ' ok"}}]}\n\n'
    item = _stream(first, second)
    found = scan(item)
    assert found
    assert all(f.kind.endswith("as the client parses them)") for f in found)
    masked = secrets.redact_secrets(item)
    written = json.dumps(masked)
    assert KEY[:14] not in written
    assert KEY[14:] not in written


def test_a_key_written_with_json_escapes_in_one_delta_is_found() -> None:
    """A server may write any character of a value as a \\u escape: the chunks then do not
    show the key as written, but the client parses it whole. It is found and masked."""
    escaped = "".join(f"\\u{ord(c):04x}" if i % 5 == 0 else c for i, c in enumerate(KEY))
    item = _stream('data: {"choices":[{"delta":{"content":"key ' + escaped + '"}}]}\n\n')
    assert KEY not in json.dumps(item)
    found = scan(item)
    assert [f.path for f in found] == ["$.response.chunks"]
    assert secrets._Screen().all_clean(copy.deepcopy(item)) is False
    masked = json.dumps(secrets.redact_secrets(item))
    assert escaped.replace("\\", "\\\\") not in masked
    assert KEY[1:5] not in masked


def _openai_chunk(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }


def _openai_tool_args(pieces: list[str]) -> list[dict[str, Any]]:
    """Two tool calls streamed in parallel, their argument chunks interleaved (by index)."""
    events = []
    for piece in pieces:
        for index, args in ((0, piece), (1, '{"q": 1}')):
            call = {"index": index, "function": {"arguments": args}}
            events.append({**_openai_chunk(""), "choices": [
                {"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]})  # fmt: skip
    return events


def _anthropic(pieces: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_01", "model": "claude-x"}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
    ]
    for piece in pieces:
        out.append({"type": "ping"})
        delta = {"type": "text_delta", "text": piece}
        out.append({"type": "content_block_delta", "index": 0, "delta": delta})
    return out


def _responses(pieces: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": piece,
            "sequence_number": i,
        }
        for i, piece in enumerate(pieces)
    ]


PROVIDER_STREAMS = {
    "openai chat": lambda pieces: [_openai_chunk(p) for p in pieces],
    "openai parallel tool calls": _openai_tool_args,
    "anthropic messages": _anthropic,
    "openai responses": _responses,
}


@pytest.mark.parametrize("shape", list(PROVIDER_STREAMS))
@pytest.mark.parametrize("cuts", [(12,), (3, 20), (9, 10, 11, 30)])
def test_a_key_split_across_a_providers_deltas_is_found_and_masked(
    shape: str, cuts: tuple[int, ...]
) -> None:
    """Real streams carry ids, models and other fields in every event, between the pieces of
    a field's deltas: each field is joined as the SDK joins it, so the key is whole again."""
    secret = SAMPLES["openai_key"]
    pieces = [secret[a:b] for a, b in zip((0, *cuts), (*cuts, len(secret)), strict=True)]
    events = PROVIDER_STREAMS[shape]([f"key {pieces[0]}", *pieces[1:-1], f"{pieces[-1]} ok"])
    item = _stream(*(f"data: {json.dumps(e)}\n\n" for e in events), "data: [DONE]\n\n")
    found = scan(item)
    assert found
    assert {f.path for f in found} == {"$.response.chunks"}
    written = json.dumps(secrets.redact_secrets(item))
    assert [p for p in pieces if len(p) > 3 and p in written] == []
    clean = PROVIDER_STREAMS[shape](["key ", "sk-", "proj", " is not here"])
    assert scan(_stream(*(f"data: {json.dumps(e)}\n\n" for e in clean))) == []


# -- the joined scan of the screen (secrets._joined_clean) -----------------------------------
CLEAN_TEXTS = [t for t in TEXTS if not detect(t)]
DIRTY_TEXTS = [t for t in TEXTS if detect(t)]


def test_the_corpus_has_both_clean_and_dirty_texts() -> None:
    assert len(CLEAN_TEXTS) > 300
    assert len(DIRTY_TEXTS) > 1000


def test_a_text_with_a_credential_is_found_wherever_it_stands_among_clean_ones() -> None:
    """The joined scan is a necessary condition: a text one scan alone finds a credential in,
    joined among clean texts (which end and start with every kind of character the corpus
    has: word characters, base64 runs, ``name=``, quotes, separators), is never called clean."""
    rng = random.Random(1818)
    missed = []
    for text in DIRTY_TEXTS:
        group = rng.sample(CLEAN_TEXTS, rng.randrange(0, 6))
        group.insert(rng.randrange(len(group) + 1), text)
        if secrets._joined_clean([(t, None) for t in group]):
            missed.append(text)
    assert missed == []


def test_clean_texts_joined_are_mostly_clean() -> None:
    """The join's purpose: texts found clean alone are found clean together (a match across
    the separator would send the screen to the full walk; it would cost time, not safety)."""
    rng = random.Random(18)
    groups = [rng.sample(CLEAN_TEXTS, 6) for _ in range(500)]
    clean = sum(secrets._joined_clean([(t, None) for t in group]) for group in groups)
    assert clean >= 490


@pytest.mark.parametrize(
    "text",
    [
        "key%3D" + SAMPLES["openai_key"].replace("-", "%2D"),  # found in its decoded form
        'name="password"\r\n\r\ns3cr3t-Pa55\r\n',
        "secret=<scrubbed> token=" + SAMPLES["github_token"],
    ],
    ids=["percent-encoded", "multipart", "beside a mask"],
)
def test_texts_the_join_cannot_take_are_read_alone(text: str) -> None:
    assert detect(text)
    group = [(t, None) for t in ("hello", text, "world")]
    assert secrets._joined_clean(group) is False
    assert secrets._joined_clean([("hello", None), ("world %20 ok", None)]) is True


def test_with_a_pattern_registered_by_the_user_each_text_is_read_alone() -> None:
    """A user's pattern may be anchored: joined, ``^TCK`` would not match the second text."""
    remove = redaction.register_secret_pattern("ticket_key", r"^TCK-[0-9]{4}$")
    try:
        item = {"request": {"body": {"text": json.dumps({"a": "hello", "b": "TCK-1234"})}}}
        assert [f.kind for f in scan(item)] == ["ticket_key"]
        assert secrets._Screen().all_clean(copy.deepcopy(item)) is False
        secrets.remember(item)
        assert [f.kind for f in scan(item)] == ["ticket_key"]
    finally:
        remove()


def _completion(content: str, arguments: str) -> dict[str, Any]:
    """A recorded chat completion whose answer holds ``content`` and a tool call's ``arguments``."""
    answer = {
        "id": "chatcmpl-c47de32656638991ada805cf",
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": content,
                    "tool_calls": [{"id": "call_72999f6cf50242a7", "type": "function",
                                    "function": {"name": "f", "arguments": arguments}}],
                }
            }
        ],
        "usage": {"prompt_tokens": 19, "completion_tokens": 25, "total_tokens": 44},
    }  # fmt: skip
    request = {"model": "m", "messages": [{"role": "user", "content": "Note 4"}]}
    return {
        "request": {"method": "POST", "url": "http://127.0.0.1/v1/chat/completions",
                    "headers": {}, "body": {"text": json.dumps(request)}},
        "response": {"status": 200, "headers": {}, "body": {"text": json.dumps(answer)}},
    }  # fmt: skip


def test_a_recorded_completion_is_screened_as_the_full_walk_reads_it() -> None:
    """Every corpus text as an answer's content and in its tool call's arguments: the screen
    calls the interaction clean exactly when the full walk finds nothing, and what remember()
    keeps for the write is what the walk finds."""
    rng = random.Random(180)
    differ = []
    for text in rng.sample(TEXTS, 1500):
        arguments = json.dumps({"q": rng.choice(CLEAN_TEXTS), "note": text})
        for item in (_completion(text, "{}"), _completion("ok", arguments)):
            found = scan(item)
            if secrets._Screen().all_clean(copy.deepcopy(item)) is not (found == []):
                differ.append(text)
            secrets.remember(item)
            assert scan(item) == found
    assert differ == []
