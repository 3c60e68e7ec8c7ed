"""One secret scanner over a whole serialized run, before every write (ladder levels 0 and 7).

Every place this package writes a run or data derived from runs calls in here: test cassettes
(:func:`refuse_secrets`: the cassette is refused, naming the run, the place and the JSON path,
and the previous cassette stays), and the production run store, drift shards, ``results.json``
and reports (:func:`redact_secrets`: the value is masked, the record is kept).

The walk covers everything in the data: HTTP headers (by name), URLs and query strings, bodies
(JSON bodies by their inner JSON path, forms, multipart parts, base64 bodies), each SSE stream
joined as the client reads it (raw chunks joined, and the text deltas of its events joined),
tool arguments, results and errors, decisions, the output, the case input and event data. What
counts as a credential is :mod:`pytest_opsladder.secret_rules` over the one pattern registry
shared with level-3 redaction. ``secrets_allow`` regexes let a false positive through.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pytest_opsladder._json import loads, loads_exact
from pytest_opsladder.exceptions import CassetteWriteError
from pytest_opsladder.observability.redaction import MASK, pair_name, patterns_version, redact
from pytest_opsladder.secret_rules import MASKS, Hit, detect, joinable, name_strength

Allow = tuple[re.Pattern[str], ...]
Steps = tuple[str | int, ...]

# Human names of the registry's patterns, for messages (the registry keys are identifiers).
LABELS = {
    "openai_key": "OpenAI API key",
    "anthropic_key": "Anthropic API key",
    "aws_access_key": "AWS access key id",
    "aws_secret_access_key": "AWS secret access key",
    "github_token": "GitHub token",
    "google_api_key": "Google API key",
    "slack_token": "Slack token",
    "stripe_key": "Stripe secret key",
    "huggingface_token": "Hugging Face token",
    "jwt": "JSON Web Token",
    "bearer": "bearer token",
    "basic_auth": "basic-auth credentials",
    "private_key_block": "private key",
    "url_credentials": "password in a URL",
    "groq_key": "Groq API key",
    "xai_key": "xAI API key",
    "perplexity_key": "Perplexity API key",
    "replicate_token": "Replicate API token",
    "fireworks_key": "Fireworks AI API key",
    "langsmith_key": "LangSmith API key",
    "pinecone_key": "Pinecone API key",
    "databricks_token": "Databricks token",
    "supabase_token": "Supabase access token",
    "linear_key": "Linear API key",
    "notion_token": "Notion integration token",
    "shopify_token": "Shopify access token",
    "atlassian_token": "Atlassian API token",
    "doppler_token": "Doppler token",
    "tavily_key": "Tavily API key",
    "mailgun_key": "Mailgun API key",
    "slack_app_token": "Slack app token",
    "discord_webhook": "Discord webhook token",
    "google_oauth_token": "Google OAuth access token",
    "digitalocean_token": "DigitalOcean token",
    "elevenlabs_key": "ElevenLabs API key",
    "age_secret_key": "age secret key",
    "e2b_key": "E2B API key",
    "firecrawl_key": "Firecrawl API key",
}


@dataclass(frozen=True)
class Finding:
    """A credential at JSON ``path``; ``sample`` is a short prefix (a report must not leak)."""

    path: str
    kind: str
    sample: str
    value: str = field(default="", repr=False, compare=False)  # for secrets_allow, never shown


class CassetteSecretError(CassetteWriteError):
    """A run about to be written as a cassette still holds a credential: the write is refused."""

    def __init__(self, message: str, *, run_id: str, json_path: str, findings: list[Finding]):
        super().__init__(message)
        self.run_id = run_id
        self.json_path = json_path
        self.findings = findings


def format_path(steps: Iterable[str | int]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else (s if s == "$" else f".{s}") for s in steps)


def label(kind: str) -> str:
    for name, text in LABELS.items():
        kind = kind.replace(name, text)
    return kind


# -- entry points --------------------------------------------------------------------------
def scan(data: Any, allow: Allow = (), root: Steps = ("$",)) -> list[Finding]:
    """Every credential in ``data`` that no allow pattern covers, with its JSON path."""
    _check_caches()
    walker = _Walker(allow, redacting=False)
    walker.visit(data, root, None)
    return walker.findings


def remember(value: dict[str, Any]) -> None:
    """Scan ``value`` now, as it is recorded, and keep the result for the write.

    Recording already holds the data in hand (a tool call's arguments and result, one HTTP
    interaction), so scanning it there spreads the cost over the run; the write then reuses the
    result for the same object instead of walking it again. Only objects that are not changed
    after they are recorded are remembered (event data and interactions the recorder built).
    """
    _check_caches()
    if _Screen().all_clean(value):
        found: list[Finding] = []
    else:
        walker = _Walker((), redacting=False)
        walker.visit(value, ("$",), None, fresh=True)
        found = walker.findings
    _MEMO[id(value)] = (value, found)
    if len(_MEMO) > _MEMO_MAX:
        _MEMO.popitem(last=False)


def vouch_clean(value: dict[str, Any]) -> None:
    """Record ``value`` as holding no credential without scanning it: for data built by a
    step that already applied every rule to each of its strings (scrubbed headers). The
    scan and the write then skip it, as they skip a remembered object."""
    _check_caches()
    _MEMO[id(value)] = (value, [])
    if len(_MEMO) > _MEMO_MAX:
        _MEMO.popitem(last=False)


def redact_secrets(data: Any, allow: Allow = ()) -> Any:
    """A copy of ``data`` with every credential masked (level-3 key rules, then the scanner)."""
    _check_caches()
    walker = _Walker(allow, redacting=True)
    return walker.visit(redact(data), ("$",), None)


def refuse_secrets(run: dict[str, Any], allow: Allow = (), *, where: str = "") -> None:
    """Raise :class:`CassetteSecretError` when the serialized ``run`` holds a credential."""
    found = scan(run, allow)
    if found:
        raise secret_error(run, found, where)


def _shown(text: str, found: list[Finding]) -> str:
    """``text`` (a case id, a cassette path named after the test's parameters) as an error may
    show it: every value found in the run masked, and any credential of its own."""
    for finding in found:
        if len(finding.value) >= 4:
            text = text.replace(finding.value, MASK)
    hits = detect(text)
    return mask(text, hits) if hits else text


def secret_error(run: dict[str, Any], found: list[Finding], where: str) -> CassetteSecretError:
    manifest = run.get("manifest") if isinstance(run.get("manifest"), dict) else {}
    run_id = _shown(str((manifest or {}).get("run_id", "?")), found)
    case = run.get("case", {}).get("id") if isinstance(run.get("case"), dict) else None
    case = _shown(case, found) if isinstance(case, str) else case
    places = "\n".join(f"  - {f.path}: {label(f.kind)} ({f.sample})" for f in found[:10])
    more = f"\n  ... and {len(found) - 10} more" if len(found) > 10 else ""
    return CassetteSecretError(
        f"refusing to write a credential into {_shown(where, found) or 'the cassette'} of run "
        f"{run_id} (case {case!r}): {len(found)} finding(s)\n{places}{more}\nThe previous "
        "cassette, if any, is left as it was. Fix: keep the credential out of tool arguments, "
        "results, errors, output and bodies (send it in a header: credential headers and "
        "query fields are scrubbed), or, if it is not a real credential, allow it with "
        "opsladder_config['secrets_allow'] = [<regex>].",
        run_id=run_id,
        json_path=found[0].path,
        findings=found,
    )


# -- the walk ------------------------------------------------------------------------------
_CLEAN: set[tuple[str, str | None]] = set()  # strings already found clean: runs repeat them
_CLEAN_MAX = 200_000
# id(object) -> (the object, its findings with paths relative to it): see remember()
_MEMO: OrderedDict[int, tuple[Any, list[Finding]]] = OrderedDict()
_MEMO_MAX = 20_000  # enough for the runs in flight; a run kept longer is scanned again at its write
_CACHED_FOR = [patterns_version()]  # the registry the two caches above were filled under


def _check_caches() -> None:
    """A pattern registered (or removed) since the caches were filled makes them stale."""
    version = patterns_version()
    if _CACHED_FOR[0] != version:
        _CLEAN.clear()
        _CLEAN_BLOBS.clear()
        _MEMO.clear()
        _CACHED_FOR[0] = version


_EVENT_KEYS = frozenset({"seq", "kind", "name", "t_start", "t_end", "data", "call_id"})


class _Walker:
    def __init__(self, allow: Allow, *, redacting: bool) -> None:
        self.allow = allow
        self.redacting = redacting
        self.findings: list[Finding] = []

    def visit(self, value: Any, steps: Steps, name: str | None, *, fresh: bool = False) -> Any:
        kind = type(value)
        if kind is str:
            return self.string(value, steps, name)
        if kind is dict:
            known = None if fresh else _MEMO.get(id(value))
            if known is not None and known[0] is value:
                return self.recall(value, known[1], steps, name)
            return self.mapping(value, steps, name)
        if kind is list or kind is tuple:
            if name == "events" and not self.redacting:
                return self.events(value, steps)
            return self.items(value, steps, name)
        return self.subclassed(value, steps, name)

    def items(self, value: list[Any] | tuple[Any, ...], steps: Steps, name: str | None) -> Any:
        names = _item_names(value, name)
        out = [
            self.visit(item, (*steps, i), name if names is None else names[i])
            for i, item in enumerate(value)
        ]
        return out if self.redacting else value

    def subclassed(self, value: Any, steps: Steps, name: str | None) -> Any:
        """A subclass of str, dict, list or tuple (a StrEnum, an OrderedDict, a token type):
        the cassette writer writes it as its base type, so it is read as one."""
        if isinstance(value, str):
            return self.string(str.__str__(value), steps, name)
        if isinstance(value, dict):
            return self.mapping(value, steps, name)
        if isinstance(value, list | tuple):
            return self.items(value, steps, name)
        return value

    def events(self, events: list[Any], steps: Steps) -> list[Any]:
        """A run's events: the ones whose data was scanned when recorded (remember()) and found
        clean cost two lookups each, so a 1,000-call run is re-checked in well under 1 ms."""
        for i, event in enumerate(events):
            if type(event) is dict and _known_clean_event(event):
                continue
            self.visit(event, (*steps, i), None)
        return events

    def mapping(self, value: dict[Any, Any], steps: Steps, name: str | None) -> Any:
        if _is_body(value):
            return self.body(value, steps, name)
        out = {}
        pair = pair_name(value)  # {"name": "DB_PASSWORD", "value": ...}: the value's name
        for key, item in value.items():
            text = key if type(key) is str else str(key)
            hits = self.hits(text, None)
            if hits:  # a secret used as a key: the path shown must not hold it either
                text = mask(text, hits)
                self.note((*steps, text), key, hits)
            named = pair[1] if pair is not None and key == pair[0] else text
            out[text if self.redacting else key] = self.visit(item, (*steps, text), named)
        if isinstance(value.get("chunks"), list):
            out["chunks"] = self.stream(out["chunks"], (*steps, "chunks"))
        return out if self.redacting else value

    def recall(self, value: Any, found: list[Finding], steps: Steps, name: str | None) -> Any:
        """A remembered object: its findings re-rooted at ``steps``, allow-list applied."""
        kept = [f for f in found if not self._allowed(f.value)]
        if not kept:
            return value  # clean: nothing to copy, even when redacting
        if self.redacting:
            return self.mapping(value, steps, name)
        root = format_path(steps)
        self.findings += [Finding(root + f.path[1:], f.kind, f.sample, f.value) for f in kept]
        return value

    def hits(self, text: str, name: str | None) -> list[Hit]:
        key = (text, name)
        if key in _CLEAN:
            return []
        hits = detect(text, name)
        if not hits:
            _remember_clean(key)
            return []
        return [h for h in hits if not self._allowed(text[h.start : h.end])]

    def _allowed(self, value: str) -> bool:
        return any(a.search(value) for a in self.allow)

    def string(self, text: str, steps: Steps, name: str | None) -> str:
        if text[:1] in ("{", "[") and len(text) > 2:  # JSON held as text (a dumped run, a body)
            data = _json_of(text, exact=self.redacting)
            if data is not _NOT_JSON and isinstance(data, dict | list):
                walked = self.json_text(data, text, steps)
                if walked is not None:
                    return walked
        hits = self.hits(text, name)
        if not hits:
            return text
        self.note(steps, text, hits)
        return mask(text, hits) if self.redacting else text

    def json_text(self, data: Any, text: str, steps: Steps) -> str | None:
        """``text`` (masked when redacting) from its parsed value ``data``; None when the value
        nests too deep to walk, and the caller reads it as text."""
        before = len(self.findings)
        clean = self._walk_parsed(data, steps, before)
        if clean is _NOT_JSON:
            return None
        if not self.redacting or len(self.findings) == before:
            return text
        return json.dumps(clean, ensure_ascii=False)

    def note(self, steps: Steps, text: str, hits: list[Hit], suffix: str = "") -> None:
        path = format_path(steps)
        for hit in hits:
            sample = text[hit.start : hit.start + min(4, (hit.end - hit.start) // 4)] + "..."
            value = text[hit.start : hit.end]
            self.findings.append(Finding(path, hit.kind + suffix, sample, value))

    # -- bodies and streams ------------------------------------------------------------------
    def body(self, body: dict[str, Any], steps: Steps, name: str | None) -> Any:
        key = "text" if "text" in body else "base64"
        raw = body.get(key)
        if not isinstance(raw, str):
            return self.visit_plain(body, steps, name)
        text = raw if key == "text" else _b64_text(raw)
        if text is None:
            return body
        out = self._body_text(body, key, text, steps, name)
        wide = _wide_text(text) if key == "base64" else None
        return out if wide is None else self._wide_body(out, wide, steps, name)

    def _body_text(
        self, body: dict[str, Any], key: str, text: str, steps: Steps, name: str | None
    ) -> Any:
        data = _json_of(text, exact=self.redacting)
        before = len(self.findings)
        clean = _NOT_JSON if data is _NOT_JSON else self._walk_parsed(data, (*steps, key), before)
        if clean is not _NOT_JSON:
            if not self.redacting or len(self.findings) == before:
                return body
            return {**body, key: _reencode(json.dumps(clean, ensure_ascii=False), key)}
        masked = self.string(text, (*steps, key), name)
        if not self.redacting or masked is text:
            return body
        return {**body, key: _reencode(masked, key)}

    def _wide_body(
        self, body: dict[str, Any], wide: tuple[str, str], steps: Steps, name: str | None
    ) -> Any:
        """A body in UTF-16 or UTF-32 (``charset=utf-16``, a Windows export): its bytes read as
        one byte per character put a NUL between every two letters, so it is also read in
        its own encoding, and masked in it."""
        text, encoding = wide
        before = len(self.findings)
        masked = self.string(text, (*steps, "base64"), name)
        if not self.redacting or len(self.findings) == before:
            return body
        return {**body, "base64": base64.b64encode(masked.encode(encoding)).decode("ascii")}

    def _walk_parsed(self, data: Any, steps: Steps, before: int) -> Any:
        """The walk of a value parsed from text, or ``_NOT_JSON`` when it nests past the stack
        (a body 400 deep): its findings so far are dropped and the text is read as text, which
        finds the same credentials by their patterns and ``name=value`` spelling."""
        try:
            return self.visit(data, steps, None)
        except RecursionError:
            del self.findings[before:]
            return _NOT_JSON

    def visit_plain(self, value: dict[str, Any], steps: Steps, name: str | None) -> Any:
        out = {k: self.visit(v, (*steps, k), k) for k, v in value.items()}
        return out if self.redacting else value

    def stream(self, chunks: list[Any], steps: Steps) -> list[Any]:
        """A stream read as the client reads it: chunks joined, and its events' text joined."""
        texts = [_chunk_text(c) for c in chunks]
        if any(t is None for t in texts):
            return chunks
        parts: list[str] = [t for t in texts if t is not None]
        joined = "".join(parts)
        bounds = _bounds(parts)
        split = [h for h in self.hits(joined, None) if _crosses(h, bounds)]
        parsed = _delta_hits(joined, self)
        if not split and not parsed:
            return chunks
        self.note(steps, joined, split, " (split across stream chunks)")
        self.note(steps, joined, parsed, " (in the stream's events as the client parses them)")
        spans = split + parsed
        return _mask_chunks(chunks, parts, bounds, spans) if self.redacting else chunks


_NOT_JSON: Any = object()
# orjson dumps (and the name above them) of containers found clean: a conversation resends
# its earlier messages and its tool schemas on every turn, and each is checked once.
_CLEAN_BLOBS: set[tuple[str | None, bytes]] = set()


class _Screen:
    """The clean case, fast: whether ``value`` holds no credential, without keeping paths.

    ``all_clean`` answers True only when the full walk (:class:`_Walker`) would find nothing;
    on anything it does not handle itself (a run's events, a possible hit) it answers False and
    the caller runs the full walk, which finds the paths. Containers in lists (a conversation's
    messages, its tool schemas, resent on every turn) are remembered by their serialized form,
    so each is checked once.

    The strings it reads under no credential name (nearly all of them) are read in one scan
    at the end, joined by a separator (:func:`_joined_clean`), instead of one scan each: a
    recorded chat completion holds some 30 strings, and each scan has a fixed cost.
    """

    def __init__(self) -> None:
        self._hits = _Walker((), redacting=False).hits
        self._joins = joinable()
        self._pending: dict[tuple[str, str | None], None] = {}  # read at the end, joined
        self._blobs: list[tuple[str | None, bytes]] = []  # remembered once all is clean

    def all_clean(self, value: Any) -> bool:
        if not self.clean(value, None):
            return False
        if self._pending and not _joined_clean(list(self._pending)):
            return False
        for key in self._pending:
            _remember_clean(key)
        for blob in self._blobs:
            _remember_blob(blob)
        return True

    def clean(self, value: Any, name: str | None) -> bool:
        kind = type(value)
        if kind is str:
            return (value, name) in _CLEAN or self.text(value, name)
        if kind is dict:
            return self.mapping(value, name)
        if kind is list:
            return name != "events" and self.items(value, name)
        return _plain_leaf(value)  # anything else (a dataclass, a datetime): the full walk

    def items(self, value: list[Any], name: str | None) -> bool:
        names = _item_names(value, name)
        for i, item in enumerate(value):
            kind = type(item)
            if kind is str:
                named = name if names is None else names[i]
                if (item, named) not in _CLEAN and not self.text(item, named):
                    return False
            elif kind is dict or kind is list:
                # a stream's chunks are each seen once: no use remembering them
                blob = _blob(item, name) if name != "chunks" else None
                if blob is not None and blob in _CLEAN_BLOBS:
                    continue
                if not self.clean(item, name):
                    return False
                if blob is not None:
                    self._blobs.append(blob)
            elif not _plain_leaf(item):
                return False
        return True

    def mapping(self, value: dict[Any, Any], name: str | None) -> bool:
        known = _MEMO.get(id(value))
        if known is not None and known[0] is value and not known[1]:
            return True  # remembered clean (or vouched for: scrubbed headers)
        if _is_body(value):
            return self.body(value, name)
        pair = pair_name(value)
        for key, item in value.items():
            if type(key) is not str or ((key, None) not in _CLEAN and not self.read(key, None)):
                return False
            if pair is not None and key == pair[0]:
                key = pair[1]
            kind = type(item)
            if kind is str:
                if (item, key) not in _CLEAN and not self.text(item, key):
                    return False
            elif not self.clean(item, key):
                return False
        chunks = value.get("chunks")
        return self.stream(chunks) if isinstance(chunks, list) else True

    def stream(self, chunks: list[Any]) -> bool:
        """A stream as the walk reads it: each chunk (read above), its chunks joined, and its
        events' fields joined (see :func:`_delta_hits`)."""
        texts = [_chunk_text(c) for c in chunks]
        if any(t is None for t in texts):
            return True  # the walk reads the chunks alone then, as done above
        joined = "".join(t for t in texts if t is not None)
        return self.read(joined, None) and self.read(_delta_screen(joined)[1], None)

    def body(self, body: dict[str, Any], name: str | None) -> bool:
        key = "text" if "text" in body else "base64"
        raw = body.get(key)
        if not isinstance(raw, str):
            return all(self.clean(v, k) for k, v in body.items())
        text = raw if key == "text" else _b64_text(raw)
        if text is None:
            return True
        wide = _wide_text(text) if key == "base64" else None
        if wide is not None and not self.text(wide[0], name):
            return False
        data = _json_of(text)
        if data is not _NOT_JSON:
            return self._clean_parsed(data)
        return (text, name) in _CLEAN or self.text(text, name, parsed=True)

    def text(self, text: str, name: str | None, *, parsed: bool = False) -> bool:
        if not parsed and text[:1] in ("{", "[") and len(text) > 2:
            data = _json_of(text)
            if data is not _NOT_JSON and isinstance(data, dict | list):
                return self._clean_parsed(data)
        return self.read(text, name)

    def read(self, text: str, name: str | None) -> bool:
        """False when ``text`` (under ``name``) holds a credential. A text under no credential
        name is kept for the joined scan at the end (True until then)."""
        if self._joins and (name is None or not name_strength(name)):
            self._pending[(text, name)] = None
            return True
        return not self._hits(text, name)

    def _clean_parsed(self, data: Any) -> bool:
        """A value parsed from text; one nested past the stack is left to the full walk."""
        try:
            return self.clean(data, None)
        except RecursionError:
            return False


# What joins the texts of one joined scan: no built-in format's match that starts in one text
# runs across it into the next (each class either stops at the newline or at the NUL), and at
# a text's edges every format's look-around reads it as it reads the text's own start or end
# (a newline: not a word character, not in any format's class, matched by \s).
_JOIN = "\n\x00\n"
# Texts the joined scan does not take as they are: a percent escape (its decoded form is read
# too, and decoding the whole joined text could form a mask or a multipart name), a multipart
# part's name (its pattern's name class runs across lines), and a mask (a match holding one is
# dropped, so one match run across two texts could hide one of the second's).
_READ_ALONE = ("%", 'name="', *MASKS)


def _joined_clean(keys: list[tuple[str, str | None]]) -> bool:
    """Whether every text of ``keys`` (each under a name that is not a credential's, so read as
    under no name) holds no credential: one scan of them all joined by :data:`_JOIN` when none
    of them holds what the joined scan cannot take (:data:`_READ_ALONE`), else one scan each.
    Any hit answers False: the full walk then reads each string and finds the paths."""
    texts = list(dict.fromkeys(text for text, _ in keys))
    joined = _JOIN.join(texts)
    if any(mark in joined for mark in _READ_ALONE):
        return not any(detect(text) for text in texts)
    return not detect(joined)


def _remember_clean(key: tuple[str, str | None]) -> None:
    if len(_CLEAN) > _CLEAN_MAX:
        _CLEAN.clear()
    _CLEAN.add(key)


# An argv list's flag: the item after it is its value (["mysql", "--password", "S3cr3t"]).
_FLAG = re.compile(r"--?(?P<name>[A-Za-z][A-Za-z0-9_\-]{0,63})")


def _item_names(items: list[Any] | tuple[Any, ...], name: str | None) -> list[str | None] | None:
    """The names a list's items are read under, where one is not the list's own (None: every
    item is read under ``name``): the item after a credential flag of an argv list under the
    flag's name, and the second of a two-string list under an auth name (``"auth": ["ann",
    "S3cr3t"]``, a user and a password, as HTTP clients take them) under ``password``."""
    if len(items) == 2 and type(items[0]) is str and type(items[1]) is str and _auth(name):
        return [name, "password"]
    names: list[str | None] | None = None
    for i in range(len(items) - 1):
        item = items[i]
        if type(item) is not str or item[:1] != "-":
            continue
        flag = _FLAG.fullmatch(item)
        if flag is not None and name_strength(flag["name"]):
            names = names or [name] * len(items)
            names[i + 1] = flag["name"]
    return names


def _auth(name: str | None) -> bool:
    return name is not None and "auth" in name.lower() and bool(name_strength(name))


def _plain_leaf(value: Any) -> bool:
    """A JSON scalar other than a string: nothing the screen needs to read. (orjson writes
    dataclasses, datetimes and enums too, so only plain data may enter _CLEAN_BLOBS.)"""
    kind = type(value)
    return kind is int or kind is float or kind is bool or value is None


def _blob(value: Any, name: str | None) -> tuple[str | None, bytes] | None:
    """A container's key in _CLEAN_BLOBS: its name and a digest of its orjson dump (not the
    dump itself: a long session would keep every message it saw)."""
    try:
        dump = orjson.dumps(value)
    except TypeError:  # a key or value orjson does not take: checked without the cache
        return None
    return name, hashlib.blake2b(dump, digest_size=16).digest()


def _remember_blob(blob: tuple[str | None, bytes]) -> None:
    if len(_CLEAN_BLOBS) > _CLEAN_MAX:
        _CLEAN_BLOBS.clear()
    _CLEAN_BLOBS.add(blob)


def _known_clean_event(event: dict[str, Any]) -> bool:
    data = event.get("data")
    known = _MEMO.get(id(data))
    if known is None or known[0] is not data or known[1] or not _EVENT_KEYS.issuperset(event):
        return False
    call_id = event.get("call_id")
    if call_id is not None and (type(call_id) is not str or not _CALL_ID.fullmatch(call_id)):
        return False
    for key in ("kind", "name"):
        text = event.get(key)
        if text is not None and (type(text) is not str or (text, key) not in _CLEAN):
            return False
    return True


_CALL_ID = re.compile(r"call_\d{1,9}")  # the ids the tool boundary gives calls: not secrets


def _is_body(value: dict[str, Any]) -> bool:
    return ("text" in value or "base64" in value) and set(value) <= {"text", "base64", "t"}


def _json_of(text: str, *, exact: bool = False) -> Any:
    """The JSON value of ``text``, or ``_NOT_JSON``. ``exact`` when the value is written back
    (a redacted body): an integer past 64 bits must not come back rounded."""
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return _NOT_JSON
    try:
        return loads_exact(text) if exact else loads(text)
    except ValueError:  # not JSON, or nested too deep to read
        return _NOT_JSON


def _b64_text(raw: str) -> str | None:
    try:
        return base64.b64decode(raw).decode("latin-1")
    except (binascii.Error, ValueError):
        return None


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _wide_text(latin: str) -> tuple[str, str] | None:
    """A base64 body's text when its bytes (``latin``: one character per byte) are UTF-16 or
    UTF-32, by their byte-order mark or, without one, by NULs in every other byte of
    mostly-ASCII text; and the encoding to write it back in. None for anything else."""
    if "\x00" not in latin or len(latin) < 4:
        return None
    raw = latin.encode("latin-1")
    for bom, encoding in _WIDE_BOMS:
        if raw.startswith(bom):
            return _decoded(raw[len(bom) :], encoding)
    if len(raw) % 2:
        return None
    if raw[1::2].count(0) * 10 >= len(raw) // 2 * 9:  # ASCII letters, little-endian
        return _decoded(raw, "utf-16-le")
    if raw[0::2].count(0) * 10 >= len(raw) // 2 * 9:
        return _decoded(raw, "utf-16-be")
    return None


def _decoded(raw: bytes, encoding: str) -> tuple[str, str] | None:
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError:
        return None


def _reencode(text: str, key: str) -> str:
    if key == "text":
        return text
    return base64.b64encode(text.encode("latin-1", "replace")).decode("ascii")


def _chunk_text(chunk: Any) -> str | None:
    if not isinstance(chunk, dict):
        return None
    if isinstance(chunk.get("text"), str):
        return str(chunk["text"])
    if isinstance(chunk.get("base64"), str):
        return _b64_text(chunk["base64"])
    return None


def _bounds(parts: list[str]) -> list[int]:
    out, at = [0], 0
    for part in parts:
        at += len(part)
        out.append(at)
    return out


def _crosses(hit: Hit, bounds: list[int]) -> bool:
    return any(hit.start < b < hit.end for b in bounds[1:-1])


_DATA_LINE = re.compile(r"^data:[ ]?(.*)$", re.MULTILINE)
# A JSON text's strings as the server wrote them (escapes kept); a colon after one makes it a
# key. Outside its strings a JSON text holds no quote, so in an event that parses these are
# exactly its strings, in document order.
_JSON_STRING = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"(\s*:)?')


_Field = tuple[Any, ...]  # a value's field: (parent field, key), a list item by its ids
_FIELD_SEPARATOR = "\n\x00\n"  # no format's match runs across it (whitespace, then no class)
_ITEM_IDS = ("index", "output_index", "content_index", "item_id")
_ITEM_ID_KEYS = frozenset(_ITEM_IDS)


def _delta_hits(joined: str, walker: _Walker) -> list[Hit]:
    """Credentials the client reads once it parses the stream's events and joins each field's
    deltas: a key split across the ``content`` (or tool ``arguments``, ``text``,
    ``partial_json``, ``delta``) of several events, and a key written with JSON escapes
    (``\\u0073k-...``), which the raw chunks do not show as written.

    The string values of the events are grouped by field (their JSON path, a list item taken by
    its ``index``/``item_id`` where it has one, as SDKs accumulate tool calls), each field's
    values joined in order. One scan of every field (a separator no format crosses between
    them) screens the stream; only on a hit is each field read alone and mapped back to the
    values' written spans."""
    lines, screen = _delta_screen(joined)
    if not walker.hits(screen, None):
        return []
    return _delta_spans(joined, lines, walker)


_Lines = list[tuple[tuple[int, int], list[tuple[_Field, str]]]]


def _delta_screen(joined: str) -> tuple[_Lines, str]:
    """The stream's events as :func:`_delta_hits` reads them: each data line's span and its
    strings by field, and every field's values joined (the text that one scan screens)."""
    lines: _Lines = []
    fields: dict[_Field, list[str]] = {}
    for match in _DATA_LINE.finditer(joined):
        data = _json_of(match.group(1))
        if data is _NOT_JSON:
            continue
        leaves: list[tuple[_Field, str]] = []
        _field_leaves(data, ((), _item_ids(data)) if type(data) is dict else (), leaves)
        lines.append((match.span(1), leaves))
        for path, leaf in leaves:
            if leaf:
                fields.setdefault(path, []).append(leaf)
    return lines, _FIELD_SEPARATOR.join("".join(values) for values in fields.values())


def _field_leaves(value: Any, path: _Field, out: list[tuple[_Field, str]]) -> None:
    """The strings of a parsed event (a dict or a list) in document order, keys left out, each
    with its field. A field is a linked pair (parent, key): built in O(1), hashed by value."""
    in_list = type(value) is list
    items: Iterable[tuple[Any, Any]] = enumerate(value) if in_list else value.items()
    for key, child in items:
        kind = type(child)
        if kind is str:
            out.append(((path, key), child))
        elif kind is dict:
            ids = _item_ids(child)
            if ids:  # an item known by its ids, wherever it stands in its list
                _field_leaves(child, ((path, "[]" if in_list else key), ids), out)
            else:
                _field_leaves(child, (path, key), out)
        elif kind is list:
            _field_leaves(child, (path, key), out)


def _item_ids(value: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    if _ITEM_ID_KEYS.isdisjoint(value):
        return ()
    return tuple((k, v) for k in _ITEM_IDS if type(v := value.get(k)) is int or type(v) is str)


def _delta_spans(
    joined: str, lines: list[tuple[tuple[int, int], list[tuple[_Field, str]]]], walker: _Walker
) -> list[Hit]:
    """The spans in ``joined`` of the field hits the chunks themselves do not show: the hits
    across two values, and those in a value whose written form differs (escapes). Each value
    is mapped to its written span; a value written with escapes is masked whole (and every
    value of an event whose strings cannot be paired with its text, the whole event)."""
    fields: dict[_Field, list[tuple[str, tuple[int, int], bool]]] = {}
    for (a, b), leaves in lines:
        written = [m for m in _JSON_STRING.finditer(joined, a, b) if not m[2]]
        paired = len(written) == len(leaves)  # not when a key repeats: the parse kept one
        for i, (path, leaf) in enumerate(leaves):
            if not leaf:
                continue
            span = written[i].span(1) if paired else (a, b)
            as_written = paired and joined[span[0] : span[1]] == leaf
            fields.setdefault(path, []).append((leaf, span, as_written))
    out: list[Hit] = []
    for values in fields.values():
        out += _field_spans([leaf for leaf, _, _ in values], values, walker)
    return out


def _field_spans(
    parts: list[str], values: list[tuple[str, tuple[int, int], bool]], walker: _Walker
) -> list[Hit]:
    bounds = _bounds(parts)
    out: list[Hit] = []
    for hit in walker.hits("".join(parts), None):
        touched = [
            i for i, at in enumerate(bounds[:-1]) if at < hit.end and hit.start < bounds[i + 1]
        ]
        if (
            len(touched) == 1
            and values[touched[0]][2]
            and _alone(hit, parts, bounds, touched[0], walker)
        ):
            continue  # inside one value as written, found in it alone: the chunks' scan reports it
        for i in touched:
            _, (a, b), as_written = values[i]
            if as_written:  # the hit's own characters of this value
                at = bounds[i]
                a, b = a + max(hit.start - at, 0), a + min(hit.end, bounds[i + 1]) - at
            out.append(Hit(a, b, hit.kind))  # else the whole value: its escapes shift offsets
    return out


def _alone(hit: Hit, parts: list[str], bounds: list[int], i: int, walker: _Walker) -> bool:
    """Whether value ``i`` read alone shows ``hit`` (its part of the joined field). A hit inside
    one value may need the values before it: a credential's name streamed in one delta and its
    value in the next (``my password=`` then ``S3cr3t...``), which no chunk shows whole."""
    start, end = hit.start - bounds[i], hit.end - bounds[i]
    return any(h.start <= start and end <= h.end for h in walker.hits(parts[i], None))


def _mask_chunks(chunks: list[Any], parts: list[str], bounds: list[int], hits: list[Hit]) -> Any:
    out = []
    for i, (chunk, part) in enumerate(zip(chunks, parts, strict=True)):
        lo = bounds[i]
        local = [
            Hit(max(h.start, lo) - lo, min(h.end, lo + len(part)) - lo, h.kind)
            for h in hits
            if h.start < lo + len(part) and h.end > lo
        ]
        if not local:
            out.append(chunk)
            continue
        key = "text" if "text" in chunk else "base64"
        out.append({**chunk, key: _reencode(mask(part, local), key)})
    return out


def mask(text: str, hits: list[Hit]) -> str:
    """``text`` with each hit's span replaced by the mask (overlapping spans merged)."""
    spans = sorted((h.start, h.end) for h in hits)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + MASK + text[end:]
    return text
