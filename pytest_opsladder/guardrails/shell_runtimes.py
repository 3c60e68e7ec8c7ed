"""Interpreters and developer tools (ladder level 4): a few read-only forms, the rest asks.

``python -c``, ``node -e``, ``perl -e``, ``ruby -e`` and script files run code nobody has
checked, so they ask. Running the test suite (``pytest``, ``python -m pytest``), listing
packages (``pip list/show/freeze``) and asking a tool for its version are everyday and
read-only as far as the guardrail can tell, so they are on the known-safe list, each with its
safe options only. An option whose value names a file the tool writes asks, and its value is
a path that may not leave the workspace (``pytest --junitxml=src/main.py`` overwrites that
file, ``--debug=~/.bashrc`` too); ``pytest --basetemp=DIR`` deletes DIR and everything in it
before the run, so it is denied like ``rm -rf DIR``. An option that names a program to run
(``pip --python ./evil``) asks.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_opsladder.guardrails.shell_context import (
    UNSAFE_OPTION,
    ShellContext,
    ask,
    deny,
    path_decisions,
    unsafe_options,
)
from pytest_opsladder.guardrails.shell_inline import inline_decisions
from pytest_opsladder.guardrails.shell_options import ParsedArgs, parse_options, spec
from pytest_opsladder.guardrails.verdicts import Decision

Check = Callable[[list[str], ShellContext], list[Decision]]
_PYTEST = spec(
    "-q|--quiet -v|--verbose -x|--exitfirst -s -k= -m= -n= -p= --maxfail= --tb= -r= --co"
    "|--collect-only --lf|--last-failed --ff|--failed-first --nf|--new-first --sw|--stepwise"
    " --sw-skip|--stepwise-skip --durations= --durations-min= -l|--showlocals --no-header"
    " --no-summary --disable-warnings|--disable-pytest-warnings -W=|--pythonwarnings="
    " !-o=|--override-ini= --rootdir@ -c@ --confcutdir@ --junitxml@|--junit-xml@ --cov?"
    " --cov-report= --log-file@ --report-log@ --resultlog@|--result-log@ --html@"
    " --json-report-file@ --benchmark-json@ --benchmark-storage@ --alluredir@"
    " --cov-fail-under= --no-cov --ignore@ --ignore-glob= --deselect= --strict-markers"
    " --strict-config --strict --import-mode= --color= --code-highlight= --setup-show"
    " --setup-plan --fixtures --fixtures-per-test --markers --runxfail --basetemp@ --version -V"
    " --help -h --full-trace --capture= --show-capture= --log-level= --log-cli-level="
    " -ra -rA -rf -rs -vv -qq --doctest-modules --doctest-glob= --continue-on-collection-errors"
    " --lfnf= --last-failed-no-failures= --cache-show? --trace-config --debug?"
    " --dist= --numprocesses= --maxprocesses= --benchmark-skip --benchmark-disable"
    " --benchmark-only --timeout= -P= !--pdb !--trace !--pdbcls= !--cache-clear",
    prefix=False,
)
_PIP = spec(
    "-v|--verbose -q|--quiet --format= !-o|--outdated !-u|--uptodate -e|--editable -l|--local"
    " --user --not-required --exclude-editable --include-editable -f|--files --path@ --all"
    " --exclude= --no-color --disable-pip-version-check --no-input --isolated --version -V"
    " --help -h --no-python-version-warning --pre !--python@ !--log@|--log-file@|--local-log@"
    " !--cache-dir@ !--index-url= !--extra-index-url= !--find-links=",
    prefix=True,
)
_PIP_READ = {"list", "show", "freeze", "check", "--version", "-V", "help", "--help", "-h"}
_PY_VERSION = {"--version", "-V", "-VV", "--help", "-h"}
_INLINE = {"-c", "-e", "-E", "--eval", "-p", "--print", "-r", "-x", "-n"}
# The option spellings with which each program only prints its version or its help, as that
# program defines them. A bare word is an operand, never one of these: ``make help`` runs the
# Makefile's target ``help``, ``perl help`` runs the file ``./help``, ``npx version``
# downloads and runs the package ``version``. ``mvn -V`` prints the version *and* builds, so
# it is not listed; ``javac -h DIR`` takes a directory.
_VERSION_OPTIONS: dict[str, str] = {
    "node": "-v -h", "npm": "-v -h", "npx": "", "yarn": "-v -h", "pnpm": "-v -h",
    "deno": "-V -h", "bun": "-v -h", "go": "", "cargo": "-V -h", "rustc": "-V -h",
    "java": "-version -help -h -?", "javac": "-version -help", "ruby": "-v -h",
    "perl": "-v -V -h", "php": "-v -h", "lua": "-v", "gcc": "-v", "cc": "-v", "clang": "-v",
    "make": "-v -h", "cmake": "-h", "docker": "-v -h", "kubectl": "-h",
    "terraform": "-v -version -h -help", "uv": "-V -h", "poetry": "-V -h", "pipx": "-h",
    "tsc": "-v -h", "bundle": "-v -h", "gem": "-v -h", "dotnet": "-h", "mvn": "-v -h",
    "gradle": "-v -h -?", "Rscript": "", "osascript": "", "tclsh": "", "expect": "-v",
}  # fmt: skip
_VERSIONS = {
    name: frozenset({"--version", "--help", *extra.split()})
    for name, extra in _VERSION_OPTIONS.items()
}


# Options whose value (or default) is a file pytest or a plugin writes, truncating it.
_PYTEST_WRITES = {
    "--junit-xml", "--debug", "--log-file", "--report-log", "--result-log", "--html",
    "--json-report-file", "--benchmark-json", "--benchmark-storage", "--alluredir",
}  # fmt: skip
# Settings of ``-o KEY=VALUE`` whose value is a path pytest writes.
_PYTEST_INI_PATHS = {"cache_dir", "log_file", "junit_xml", "basetemp"}
# pytest-cov reports that print only; every other kind writes a file (coverage.xml, htmlcov/).
_COV_PRINTS = {"", "term", "term-missing"}


def pytest_check(args: list[str], ctx: ShellContext, name: str = "pytest") -> list[Decision]:
    parsed = parse_options(args, _PYTEST)
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _PYTEST.unsafe]
    # -p loads a plugin module (any code); only disabling one (-p no:NAME) is safe.
    bad += [f"-p {v}" for v in parsed.values("-p") if not v.startswith("no:")]
    # -W ACTION:MESSAGE:pkg.Category imports pkg to find the category: a module runs too.
    bad += [f"-W {v}" for v in parsed.values("--pythonwarnings") if "." in _category(v)]
    targets = [w.split("::", 1)[0] for w in parsed.operands]
    written = _pytest_written(parsed)
    paths = path_decisions(name, targets + parsed.paths() + [p for _, p in written if p], ctx)
    deletes = _pytest_deletes(name, parsed)
    return paths + deletes + _writes(name, written) + unsafe_options(name, bad)


def _category(warning_filter: str) -> str:
    """The category field of a warnings filter ``action:message:category:module:lineno``."""
    fields = warning_filter.split(":")
    return fields[2].strip() if len(fields) > 2 else ""


def _pytest_written(parsed: ParsedArgs) -> list[tuple[str, str | None]]:
    """(option as written, the path it writes or None for its default file) per writing option.

    ``--debug`` takes an optional value as argparse does: ``--debug FILE`` writes FILE, which
    the option parser here reads as an operand (a path all the same).
    """
    out: list[tuple[str, str | None]] = []
    for option in parsed.options:
        if option.name in _PYTEST_WRITES:
            out.append((option.written, option.value))
        elif option.name == "--cov-report" and option.value is not None:
            kind, _, dest = option.value.partition(":")
            if kind not in _COV_PRINTS:
                out.append((option.written, dest or None))
        elif option.name == "--override-ini" and option.value is not None:
            key, _, value = option.value.partition("=")
            if key.strip() in _PYTEST_INI_PATHS:
                out.append((option.written, value))
    return out


def _pytest_deletes(name: str, parsed: ParsedArgs) -> list[Decision]:
    """``--basetemp DIR``: pytest deletes DIR recursively before the run, like ``rm -rf``."""
    return [
        deny(
            "shell:pytest-basetemp",
            f"{name} {o.spelled()} {o.value!r} deletes that directory and everything in it"
            " before the run (as rm -rf does); leave --basetemp out (pytest uses a fresh"
            " directory of its own)",
        )
        for o in parsed.options
        if o.name == "--basetemp"
    ]


def _writes(name: str, written: list[tuple[str, str | None]]) -> list[Decision]:
    """Asks for options that write: the file they name is overwritten, wherever it is."""
    return [
        ask(
            UNSAFE_OPTION,
            f"option {option!r} of {name} writes (overwrites) "
            + (repr(path) if path else "the file it names, or its default file"),
        )
        for option, path in written
    ]


def pip(args: list[str], ctx: ShellContext, name: str = "pip") -> list[Decision]:
    parsed = parse_options(args, _PIP)
    if (
        not parsed.operands
        and parsed.options
        and all(o.name in _PY_VERSION for o in parsed.options)
    ):
        return []
    sub = parsed.operands[0] if parsed.operands else ""
    if sub not in _PIP_READ:
        return [
            ask("shell:packages", f"{name} {sub or '(no subcommand)'} changes installed packages")
        ]
    bad = parsed.unknown + [o.written for o in parsed.options if o.name in _PIP.unsafe]
    return path_decisions(name, parsed.paths(), ctx) + unsafe_options(name, bad)


def python(args: list[str], ctx: ShellContext) -> list[Decision]:
    if len(args) == 1 and args[0] in _PY_VERSION:
        return []
    flags = [a for a in args[:2] if a in ("-B", "-u", "-q")]
    rest = args[len(flags) :]
    if len(rest) >= 2 and rest[0] == "-m":
        module, tail = rest[1], rest[2:]
        if module == "pytest":
            return pytest_check(tail, ctx, "python -m pytest")
        if module == "pip":
            return pip(tail, ctx, "python -m pip")
    return interpreter("python")(args, ctx)


def interpreter(name: str) -> Check:
    """Inline code and script files ask: nothing checks what they do, except that inline
    code which visibly destroys is denied (:mod:`shell_inline`)."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        if _prints_version(name, args):
            return []
        denied = [d for code in inline_code(name, args) for d in inline_decisions(name, code, ctx)]
        if not args or any(a in _INLINE or a.startswith("-c") for a in args[:3]):
            return [ask("shell:interpreter", f"{name} runs inline code"), *denied]
        return [ask("shell:interpreter", f"{name} runs a program"), *denied]

    return check


# The option letter that takes inline code, per interpreter (it may end a flag cluster:
# ``python -Bc CODE``, ``perl -lne CODE``, ``perl -pi -e CODE``).
_CODE_LETTER = {"python": "c", "node": "ep", "deno": "", "bun": "e", "perl": "eE", "ruby": "e"}
_CODE_LONG = ("--eval", "--print")


def inline_code(name: str, args: list[str]) -> list[str]:
    """Every piece of inline code in an interpreter's arguments (before its script)."""
    letters = _CODE_LETTER.get(name.rstrip("0123456789.") or name, "")
    out: list[str] = []
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg == "--" or not arg.startswith("-"):
            break
        key, eq, value = arg.partition("=")
        if key in _CODE_LONG:
            out.append(value if eq else following)
        elif not arg.startswith("--") and letters:
            at = next((j for j, c in enumerate(arg[1:], start=1) if c in letters), None)
            if at is not None:
                out.append(arg[at + 1 :] or following)
    return out


def version_only(name: str) -> Check:
    """``node --version`` and friends: allowed; anything else runs code or changes things."""

    def check(args: list[str], ctx: ShellContext) -> list[Decision]:
        if _prints_version(name, args):
            return []
        return [
            ask(
                "shell:not-known-safe",
                f"{name!r} is not a known-safe program ({name} "
                f"{args[0] if args else ''} runs project code or changes files)",
            )
        ]

    return check


def _prints_version(name: str, args: list[str]) -> bool:
    """``TOOL --version`` or ``TOOL --help``, spelled as ``name`` defines the option."""
    return len(args) == 1 and args[0] in _VERSIONS.get(name, _VERSIONS["go"])


RUNTIMES: dict[str, Check] = {
    "pytest": pytest_check,
    "py.test": pytest_check,
    "pip": pip,
    "pip3": pip,
    "python": python,
    "python3": python,
    "perl": interpreter("perl"),
    "ruby": interpreter("ruby"),
    "node": interpreter("node"),
    "deno": interpreter("deno"),
    "php": interpreter("php"),
    "lua": interpreter("lua"),
    "Rscript": interpreter("Rscript"),
    "osascript": interpreter("osascript"),
    "tclsh": interpreter("tclsh"),
    "expect": interpreter("expect"),
}
for _name in sorted(set(_VERSION_OPTIONS) - set(RUNTIMES)):
    RUNTIMES[_name] = version_only(_name)


def runtime(name: str) -> Check | None:
    """The check for ``name``, versioned names (``python3.11``, ``pip3.12``) included."""
    found = RUNTIMES.get(name)
    if found is None and name.startswith(("python", "pip")):
        found = RUNTIMES.get(name.rstrip("0123456789.") or name)
    return found
