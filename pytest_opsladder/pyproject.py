"""The project's ``[tool.opsladder]`` tables: read from the file pytest configured itself from.

pytest reads its options from the file it found (``config.inipath``), which need not sit in the
rootdir (``--rootdir DIR``, ``-c FILE``). The variants, the gate and the prices are read from
that same pyproject.toml (or the pyproject.toml beside a ``pytest.ini``/``tox.ini``/``setup.cfg``
pytest found), so one project's settings never come half from one file and half from none.

A section this release does not read (``[tool.opsladder.gates]``) is a configuration error
naming the file and the sections there are: a misspelled gate table must not leave the default
gate deciding in silence.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import ConfigError

SECTIONS = ("gate", "prices", "variants")  # [tool.opsladder.<section>] tables this release reads


def pyproject_path(inipath: Path | None, rootpath: Path) -> Path:
    """The pyproject.toml of the session: pytest's own config file when it is one, else the
    one beside that file, else the rootdir's."""
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    base = inipath.parent if inipath is not None else rootpath
    return base / "pyproject.toml"


def opsladder_table(path: Path) -> dict[str, Any]:
    """``[tool.opsladder]`` of ``path`` (empty when there is no such file), its sections checked."""
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the file.") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    tool = data.get("tool", {})
    table = tool.get("opsladder", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.opsladder] must be a table of sections ({_SECTIONS}).")
    for name, value in table.items():
        if name not in SECTIONS:
            raise ConfigError(_unknown_section(path, name, isinstance(value, dict)))
    return table


_SECTIONS = ", ".join(f"[tool.opsladder.{s}]" for s in SECTIONS)


def _unknown_section(path: Path, name: str, is_table: bool) -> str:
    close = difflib.get_close_matches(name, SECTIONS, n=1)
    hint = f" Did you mean [tool.opsladder.{close[0]}]?" if close else ""
    ini = (
        " Options such as opsladder_mode go in [tool.pytest.ini_options] as opsladder_<name>."
        if not close
        else ""
    )
    what = f"[tool.opsladder.{name}]" if is_table else f"the key {name!r} in [tool.opsladder]"
    return (
        f"{path}: {what} is not a section pytest-opsladder reads, so it would be ignored."
        f"{hint} The sections are {_SECTIONS}.{ini}"
    )
