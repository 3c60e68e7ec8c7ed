"""The secret scanner on its worst inputs: every read stays linear in the text's length.

    python benchmarks/bench_scanner_worst_case.py

The scanner runs on everything a run records, and an agent records what it fetched: web pages,
API listings, logs. A pattern that backtracks can make one such text cost seconds or minutes
(each of these took that before it was bounded: a 137 KB HTML form 3 s, a minified JSON of
5,000 GitHub users 16 s, ``password:`` and 50,000 spaces 100 s, a dotted run with a ``://``
20 s, a chain of ``:_authToken=`` 15 s). Each input is read at two sizes, n and 4n: linear
means the larger costs about 4 times the smaller, quadratic 16 times.

Next to it, the alternative a user would pick: detect-secrets (its default plugins, line by
line, as ``detect-secrets scan`` reads a file), on the same texts.

Targets: every input of the larger size read in at most 0.5 s, and at most 8 times the
smaller one's time (linear, with room for noise).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from pytest_opsladder.secret_rules import detect

TARGET_S = 0.5
TARGET_RATIO = 8.0


def _github_users(n: int) -> str:
    return json.dumps([{"login": f"user{i}", "id": i, "type": "User"} for i in range(n)])


def _html_form(n: int) -> str:
    inputs = "".join(f'<input type="text" name="field{i}" value="">\n' for i in range(n))
    return f'<form>\n{inputs}<input type="password" name="password">\n</form>'


INPUTS: dict[str, Callable[[int], str]] = {
    "HTML form, a name= per line": lambda n: _html_form(n // 40),
    "the same form on one line": lambda n: _html_form(n // 40).replace("\n", ""),
    "minified JSON, a login per user": lambda n: _github_users(n // 40),
    "password: and spaces": lambda n: "password:" + " " * n + "x",
    "dotted run and a ://": lambda n: "a." * (n // 2) + "://",
    "name=value chain": lambda n: ":_authToken=" * (n // 12),
    "curl words on one line": lambda n: "curl https://h/a " * (n // 17),
    "mysql words on one line": lambda n: "mysql " * (n // 6),
    "multipart names, no blank line": lambda n: 'name="password"\r\n' * (n // 17),
    "tabs after a credential word": lambda n: "password\tvalue\t" * (n // 15),
}


def _ours(text: str) -> float:
    t0 = time.perf_counter()
    detect(text)
    return time.perf_counter() - t0


def _detect_secrets() -> Callable[[str], float] | None:
    try:
        from detect_secrets.core.scan import scan_line
        from detect_secrets.settings import default_settings
    except ImportError:
        return None

    def read(text: str) -> float:
        t0 = time.perf_counter()
        with default_settings():
            for line in text.splitlines() or [text]:
                list(scan_line(line))
        return time.perf_counter() - t0

    return read


def main() -> int:
    theirs = _detect_secrets()
    size = 25_000
    print(f"secret scanner, worst inputs at {size:,} and {4 * size:,} characters, seconds "
          "(best of 3)")  # fmt: skip
    print(f"  {'input':<34} {'ours n':>8} {'ours 4n':>8} {'ratio':>6} {'detect-secrets 4n':>18}")
    missed = 0
    for name, make in INPUTS.items():
        small, big = make(size), make(4 * size)
        a = min(_ours(small) for _ in range(3))
        b = min(_ours(big) for _ in range(3))
        other = f"{theirs(big):18.3f}" if theirs is not None else f"{'(not installed)':>18}"
        ratio = b / max(a, 1e-4)
        ok = b <= TARGET_S and ratio <= TARGET_RATIO
        missed += not ok
        verdict = "PASS" if ok else "MISS"
        print(f"  {name:<34} {a:8.4f} {b:8.4f} {ratio:6.1f} {other} {verdict}")
    print(
        f"  target: 4n read in <= {TARGET_S} s and <= {TARGET_RATIO:.0f}x n "
        f"({'PASS' if not missed else 'MISS'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
