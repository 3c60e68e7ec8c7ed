"""Reading a command's options the way the program reads them (ladder level 4).

A guardrail that compares words with ``--hard`` is fooled by ``--har``: GNU getopt_long and
git's parse-options accept any unique prefix of a long option. Short options cluster (``-rf``)
and glue their values (``-o/etc/passwd``); ``--opt=value`` and ``--opt value`` are the same;
``--`` ends the options. :func:`parse_options` applies those rules to one program's
:class:`OptionSpec`, so ``--har`` *is* ``--hard`` and ``/etc/passwd`` *is* an output path.

A spec is written as one string of option tokens (a tiny DSL, one line per program):

- ``-l|--long``  aliases of one option (the last name is the canonical one);
- ``NAME=``      takes a value; ``NAME@`` takes a path value (checked for workspace escapes);
- ``NAME?``      takes an optional value (glued ``-U3`` or ``--color=auto`` only);
- ``!NAME``      a real option of the program that is *not* safe (asks; never prefix-hidden).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache


class Arity(StrEnum):
    """What an option takes after it."""

    FLAG = "flag"
    VALUE = "value"
    PATH = "path"
    OPTIONAL = "optional"


_SUFFIX = {"=": Arity.VALUE, "@": Arity.PATH, "?": Arity.OPTIONAL}


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """The options of one program: arity and canonical name of each spelling."""

    arity: dict[str, Arity]
    canonical: dict[str, str]
    unsafe: frozenset[str]
    prefix: bool = True  # GNU/git: a unique prefix of a long option selects it
    permute: bool = True  # GNU: options may follow operands
    numeric: bool = False  # ``-5`` means a count (head, git log)

    @property
    def longs(self) -> tuple[str, ...]:
        return tuple(name for name in self.arity if name.startswith("--"))


@cache
def spec(
    text: str, *, prefix: bool = True, permute: bool = True, numeric: bool = False
) -> OptionSpec:
    """Compile a spec string (see the module docstring) once."""
    arity: dict[str, Arity] = {}
    canonical: dict[str, str] = {}
    unsafe: set[str] = set()
    for token in text.split():
        bad = token.startswith("!")
        kind = _SUFFIX.get(token[-1], Arity.FLAG)
        names = [n.rstrip("=@?") for n in token.lstrip("!").split("|")]
        for name in names:
            arity[name] = kind
            canonical[name] = names[-1]
            if bad:
                unsafe.add(names[-1])
    return OptionSpec(arity, canonical, frozenset(unsafe), prefix, permute, numeric)


@dataclass(frozen=True, slots=True)
class Option:
    """One option as the program understood it; ``written`` is how the command spelled it."""

    name: str
    value: str | None
    written: str
    arity: Arity = Arity.FLAG

    def spelled(self) -> str:
        """``--hard (written --har)`` when the spelling differs, for reasons people act on."""
        base = self.written.split("=", 1)[0]
        if not base.startswith("--"):
            return base[:2]  # a short option: -r, or -o of -o/etc/passwd
        return self.name if base == self.name else f"{self.name} (written {base})"


@dataclass(slots=True)
class ParsedArgs:
    """Options in order, operands, and the words the program would not accept or we don't know."""

    options: list[Option] = field(default_factory=list)
    operands: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def get(self, *names: str) -> Option | None:
        return next((o for o in self.options if o.name in names), None)

    def values(self, *names: str) -> list[str]:
        return [o.value for o in self.options if o.name in names and o.value is not None]

    def paths(self) -> list[str]:
        return [o.value for o in self.options if o.arity is Arity.PATH and o.value is not None]


def parse_options(args: list[str], option_spec: OptionSpec) -> ParsedArgs:
    """Split ``args`` into options and operands as ``option_spec``'s program would."""
    out = ParsedArgs()
    i, ended = 0, False
    while i < len(args):
        arg = args[i]
        if ended or arg == "-" or not arg.startswith("-"):
            out.operands.append(arg)
            ended = ended or not option_spec.permute
        elif arg == "--":
            ended = True
        elif option_spec.numeric and arg[1:].isdigit():
            out.options.append(Option("-NUM", arg[1:], arg, Arity.VALUE))
        elif arg.startswith("--"):
            i = _long(args, i, option_spec, out)
        else:
            i = _short(args, i, option_spec, out)
        i += 1
    return out


def resolve_long(name: str, option_spec: OptionSpec) -> tuple[str | None, str]:
    """(the spelling the program picks, or None; why not) for a written ``--name``."""
    if name in option_spec.arity:
        return name, ""
    if not option_spec.prefix:
        return None, "unknown"
    matches = {option_spec.canonical[n] for n in option_spec.longs if n.startswith(name)}
    if len(matches) == 1:
        return next(n for n in option_spec.longs if n.startswith(name)), ""
    return None, "ambiguous" if matches else "unknown"


def _long(args: list[str], i: int, option_spec: OptionSpec, out: ParsedArgs) -> int:
    written = args[i]
    name, eq, value = written.partition("=")
    found, _why = resolve_long(name, option_spec)
    if found is None:
        out.unknown.append(written)
        return i
    kind = option_spec.arity[found]
    if kind in (Arity.VALUE, Arity.PATH) and not eq:
        if i + 1 >= len(args):
            out.unknown.append(written)
            return i
        i, value = i + 1, args[i + 1]
    if kind is Arity.FLAG and eq:
        out.unknown.append(written)  # getopt refuses a value here; nothing runs
        return i
    out.options.append(
        Option(
            option_spec.canonical[found],
            value if eq or kind in (Arity.VALUE, Arity.PATH) else None,
            written,
            kind,
        )
    )
    return i


def _short(args: list[str], i: int, option_spec: OptionSpec, out: ParsedArgs) -> int:
    word = args[i]
    for j in range(1, len(word)):
        name = "-" + word[j]
        kind = option_spec.arity.get(name)
        if kind is None:
            out.unknown.append(f"{name} (in {word})" if len(word) > 2 else name)
            return i
        rest = word[j + 1 :]
        if kind is Arity.FLAG:
            out.options.append(Option(option_spec.canonical[name], None, name, kind))
            continue
        if kind is Arity.OPTIONAL or rest:
            out.options.append(Option(option_spec.canonical[name], rest or None, word, kind))
            return i
        if i + 1 >= len(args):
            out.unknown.append(word)
            return i
        out.options.append(Option(option_spec.canonical[name], args[i + 1], word, kind))
        return i + 1
    return i
