"""The fast path for case files (nightmare/yaml_subset.py) builds what PyYAML builds, or gives up.

Every document here is parsed both ways: the subset must return a value equal to PyYAML's (same
types, same key order) or raise NotSimple, and it must give up on every document PyYAML refuses.
"""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.nightmare import case as case_module
from pytest_opsladder.nightmare import yaml_subset
from pytest_opsladder.nightmare.case import CaseFormatError, load_case

REPO = Path(__file__).resolve().parents[2]
LOADER = case_module._LOADER


def _reference(text: str, loader_class: Any = LOADER) -> Any:
    """PyYAML's safe loader, with the node builder parse_yaml uses when the subset gives up."""
    return case_module.parse_with_libyaml(text, loader_class)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return b != b
    return bool(a == b)


def _check(text: str, loader_class: Any = LOADER) -> bool:
    """True if the subset read the text (and agreed with PyYAML), False if it gave up."""
    try:
        got = yaml_subset.parse(text, loader_class(""))
    except yaml_subset.NotSimple:
        return False
    try:
        want = _reference(text, loader_class)
    except Exception as exc:  # any refusal of PyYAML's
        raise AssertionError(f"the subset accepted what PyYAML refuses ({exc}): {text!r}") from exc
    assert _same(got, want), f"{text!r}: subset {got!r}, PyYAML {want!r}"
    return True


BENCH_CASE = """id: case-00001
description: generated case 1
input:
  note: "# Note 1\\nI write pytest fixtures every day."
  source: notes/case-1.md
checks:
- tool_trajectory: {mode: strict, calls: [find_draft, list_tags, upsert_draft]}
- contains: {path: tags, value: pytest}
tags: [generated, group-1]
severity: medium
"""

# Read by the subset: the forms case files are written in.
READ = [
    BENCH_CASE,
    "key: a\n  b\n",
    "- a\n  b\n",
    "key:\n- a\nnext: b\n",
    "- a: 1\n  b: 2\n",
    "- - a\n  - b\n- c\n",
    "a: 'x\n  y'\n",
    "a: 'it''s\n  here'\n",
    "a: |\n  x\n\n  y\n",
    "a: |-\n  x",
    "a: |-\n  x\n",
    "a: |\n  x\n\n\n",
    "a: |\n  x\n   y\n",
    "a: |\n  # not a comment\n  b: c\n",
    "a:   # comment\n  b: 1\n",
    "a: b # c\n",
    "a: b#c\n",
    "a : b\n",
    "b c: d\n",
    "a: 1\na: 2\n",
    "é: ü\n",
    "  a: b\n  c: d\n",
    "# c\na: b\n\n\n# d\n",
    "a:\n",
    "a: [b , c]\n",
    "a: [ ]\n",
    "a: {}\n",
    "a: [[], {}, [b]]\n",
    "a: {b: [c], d: {e: f}}\n",
    "a: {a : b}\n",
    "a: [a b, c d]\n",
    "a: {b: c, b: d}\n",
    "a: [-a, -1]\n",
    "a: 'b' # c\n",
    'a: "b\\nc\\t\\"d\\\\"\n',
    "a: yes\nb: NO\nc: ~\nd: null\ne:\nf: 2026-11-02\ng: 1.5\nh: 0x1f\ni: .inf\nj: 1_000\n",
    "a: 2026-11-02 10:00:00\nb: -5\nc: +1\nd: 1:20\ne: 0o17\n",
    "a: [yes, ~, 1, 1.5, .nan, .inf, -1, off]\n",
    "a: http://x.y/z\n",
    "-   a: b\n    c: d\n",
    "a:\n- b\n- c:\n  - d\n",
    "a:\n  -\n    b: c\n",
]

# Left to PyYAML: anchors, tags, folded or multi-line double-quoted scalars, flow collections
# over several lines, keys that are not plain strings, document markers, tabs, odd escapes,
# and every document PyYAML refuses.
LEFT = [
    "a: &x b\nc: *x\n",
    "a: !!str 1\n",
    "a: >\n  b\n",
    "a: |2\n  b\n",
    "a: |+\n  b\n",
    'a: "multi\n  line"\n',
    "a: [b,\n  c]\n",
    "yes: b\n",
    "1: b\n",
    "<<: {a: b}\n",
    "? a\n: b\n",
    "---\na: b\n",
    "a: b\n...\n",
    "%YAML 1.1\n---\na: b\n",
    "a:\tb\n",
    "a: b\r\nc: d\r\n",
    "\ufeffa: b\n",
    "a: b\u2028c\n",
    'a: "\\x41"\n',
    "a: [a, b,]\n",
    "a: {b}\n",
    "a: {b:c}\n",
    "a: [b: c]\n",
    "a: 2026-02-30\n",
    "",
    "# only a comment\n",
    "just a scalar\n",
    "a: b: c\n",
    "a: - b\n",
    "a:\n  - x\n  b: y\n",
    "a:\n  b: c\n d: e\n",
    "a: b\n  c: d\n",
    "a: 'b\n",
    "a: [b\n",
    "a: |\n\n  x\n",
    "x" * 1100 + ": b\n",
]


@pytest.mark.parametrize("text", READ)
def test_the_subset_reads_what_pyyaml_reads(text: str) -> None:
    assert _check(text)


@pytest.mark.parametrize("text", LEFT)
def test_the_subset_leaves_the_rest_to_pyyaml(text: str) -> None:
    assert not _check(text)


def test_the_shipped_set_takes_the_fast_path() -> None:
    paths = sorted((REPO / "nightmare_set").glob("*.yaml"))
    assert paths
    for path in paths:
        assert _check(path.read_text(encoding="utf-8")), path


# Mutations: characters YAML gives a meaning to, inserted, deleted or replaced anywhere.
_ALPHABET = [*" -:#[]{},'\"|>&*!?%@`\n\\ab1~.\t", "  ", "- ", ": ", " #", "\n  ", "\n- "]


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(text))
        op = rng.random()
        if op < 0.4:
            text = text[:i] + rng.choice(_ALPHABET) + text[i:]
        elif op < 0.7:
            text = text[:i] + text[i + 1 :]
        elif op < 0.9:
            text = text[:i] + rng.choice(_ALPHABET) + text[i + 1 :]
        else:
            lines = text.split("\n")
            j = rng.randrange(len(lines))
            lines.insert(j, lines[j])
            text = "\n".join(lines)
    return text


def test_mutated_documents_are_read_alike_or_left_to_pyyaml() -> None:
    rng = random.Random(18)
    shipped = (REPO / "nightmare_set").glob("*.yaml")
    seeds = [BENCH_CASE, *(path.read_text(encoding="utf-8") for path in shipped)]
    read = 0
    for _ in range(3000):
        read += _check(_mutate(rng, rng.choice(seeds)))
    assert read > 300  # the fast path is exercised, not only the fallback


def test_a_resolver_added_later_is_seen() -> None:
    """Plain scalars are typed by the loader's resolvers as they are now, memo or not."""

    class Loader(LOADER):  # type: ignore[misc,valid-type]
        pass

    text = "tags: [hello, tags]\n"
    assert yaml_subset.parse(text, Loader("")) == {"tags": ["hello", "tags"]}
    Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile("^hello$"), ["h"])
    assert _check(text, Loader)
    Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile("^tags$"), ["t"])
    with pytest.raises(yaml_subset.NotSimple):  # a key that is no longer a string
        yaml_subset.parse(text, Loader(""))
    assert _reference("a: [hello, tags]\n", Loader) == {"a": [None, None]}
    assert _check("a: [hello, tags]\n", Loader)


def test_case_files_read_as_text_mode_reads_them(tmp_path: Path) -> None:
    """Line ends are translated as a text-mode read does; bad UTF-8 names the byte."""
    unix = tmp_path / "unix.yaml"
    unix.write_bytes(BENCH_CASE.encode())
    windows = tmp_path / "windows.yaml"
    windows.write_bytes(BENCH_CASE.replace("\n", "\r\n").encode())
    assert load_case(windows) == dataclasses.replace(load_case(unix), path=windows)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"id: a\ninput: caf\xe9\n")
    with pytest.raises(CaseFormatError, match=r"not UTF-8 text \(byte 16\)"):
        load_case(bad)
