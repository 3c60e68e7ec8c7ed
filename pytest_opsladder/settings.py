"""Resolved settings of a pytest session: command line > ini/pyproject > default."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_opsladder.callable_module import make_module_callable
from pytest_opsladder.capture.variant import Variant
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.modes import Mode, RecordMode


@dataclass
class Settings:
    mode: Mode
    record_mode: RecordMode
    rootdir: Path
    cassette_dir: Path | None
    nightmare_dir: Path
    baseline: str
    variant_name: str | None
    variants: dict[str, Variant] = field(default_factory=dict)
    candidate_name: str | None = None
    epochs: int = 1
    concurrency: int = 1
    divergence: str = "nearest"
    report_dir: Path | None = None
    record_mode_explicit: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    pyproject: Path | None = None  # the file of [tool.opsladder]; None: the rootdir's

    @property
    def pyproject_file(self) -> Path:
        """The pyproject.toml whose ``[tool.opsladder]`` tables this session reads."""
        return self.pyproject or self.rootdir / "pyproject.toml"

    @property
    def candidate(self) -> Variant:
        """The shadow candidate: --opsladder-candidate, else the one non-baseline variant."""
        if self.candidate_name:
            return self.variant(self.candidate_name)
        others = [name for name in self.variants if name != self.baseline]
        if len(others) != 1:
            listed = ", ".join(others) or "(none)"
            raise ConfigError(
                "shadow mode needs a candidate variant: pass --opsladder-candidate NAME "
                f"(or set opsladder_candidate). Variants other than the baseline: {listed}."
            )
        return self.variants[others[0]]

    @property
    def run_variant(self) -> Variant:
        """The variant that replay/record runs use: --opsladder-variant, else the baseline."""
        return self.variant(self.variant_name or self.baseline)

    def variant(self, name: str) -> Variant:
        if name in self.variants:
            return self.variants[name]
        if not self.variants and name == self.baseline:
            return Variant(name)
        valid = ", ".join(sorted(self.variants)) or "(none declared)"
        raise ConfigError(
            f"unknown variant {name!r}. Declared variants: {valid}. Declare variants with the "
            "pytest_opsladder_variants() hook in conftest.py."
        )


def resolve_modes(mode: str, record_mode: str | None) -> tuple[Mode, RecordMode]:
    parsed = Mode.parse(mode, setting="opsladder mode (--opsladder-mode / opsladder_mode)")
    default_record = "none" if parsed is Mode.REPLAY else "once"
    rec = RecordMode.parse(
        record_mode or default_record,
        setting="record mode (--opsladder-record-mode / opsladder_record_mode)",
    )
    return Mode(parsed), RecordMode(rec)


def positive_int(value: str | int, setting: str) -> int:
    """``value`` as a whole number >= 1, else a ConfigError naming ``setting``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ConfigError(
            f"{setting} must be a whole number of at least 1, got {value!r}; for example 2."
        )
    return number


_VARIANT_KEYS = {"model", "prompt", "params"}


def variants_from_pyproject(path: Path) -> list[Variant]:
    """``[tool.opsladder.variants]`` of the pyproject.toml at ``path``:
    ``name = {model = ..., prompt = ..., params = {...}}``."""
    from pytest_opsladder.pyproject import opsladder_table

    table = opsladder_table(path).get("variants", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: [tool.opsladder.variants] must be a table of variants, e.g. "
            '[tool.opsladder.variants] then next = {model = "gpt-5"}.'
        )
    return [_variant(name, spec, path) for name, spec in table.items()]


def _variant(name: str, spec: Any, path: Path) -> Variant:
    if not isinstance(spec, dict) or set(spec) - _VARIANT_KEYS:
        extra = sorted(set(spec) - _VARIANT_KEYS) if isinstance(spec, dict) else spec
        raise ConfigError(
            f"{path}: [tool.opsladder.variants] {name} has {extra!r}; a variant is a table "
            'with model, prompt and params, e.g. next = {model = "gpt-5", prompt = "p/v4.md"}.'
        )
    return Variant(name, spec.get("model"), spec.get("prompt"), dict(spec.get("params") or {}))


def merge_variants(lists: list[list[Variant] | None], root: Path, hook: str) -> dict[str, Variant]:
    out: dict[str, Variant] = {}
    for items in lists:
        for item in items or []:
            if not isinstance(item, Variant):
                raise ConfigError(
                    f"{hook}() returned {item!r}; it must return a list of "
                    "pytest_opsladder.Variant objects."
                )
            if item.name in out:
                raise ConfigError(f"{hook}(): variant {item.name!r} is declared twice.")
            out[item.name] = item.with_root(root)
    return out


@dataclass(frozen=True)
class SessionSettings:
    """What conftest code may read about the session (``pytest_opsladder.settings(config)``).

    ``mode`` and ``record_mode`` are str enums, so ``settings.mode == "shadow"`` works.
    ``variant`` is the variant replay/record runs use; ``candidate`` the shadow candidate's
    name (None outside shadow mode).
    """

    mode: Mode
    record_mode: RecordMode
    variant: str
    baseline: str
    candidate: str | None
    epochs: int
    concurrency: int
    rootdir: Path
    report_dir: Path | None

    @property
    def live(self) -> bool:
        """Whether runs may call the model for real (record, or shadow without replay-only)."""
        return self.mode is not Mode.REPLAY and self.record_mode is not RecordMode.NONE


def session_settings(config: Any) -> SessionSettings:
    """The opsladder settings of a pytest session, for conftest code and hooks.

    Raises :class:`ConfigError` when the plugin has not configured this session yet.
    """
    from pytest_opsladder.stash_keys import SETTINGS_KEY

    resolved = config.stash.get(SETTINGS_KEY, None)
    if resolved is None:
        raise ConfigError(
            "pytest_opsladder.settings(config) was called before the plugin configured the "
            "session; call it from a hook or fixture (pytest_configure runs too early unless "
            "your hook is marked trylast=True)."
        )
    return _public(resolved)


def _public(resolved: Settings) -> SessionSettings:
    shadow = resolved.mode is Mode.SHADOW
    return SessionSettings(
        mode=resolved.mode,
        record_mode=resolved.record_mode,
        variant=resolved.variant_name or resolved.baseline,
        baseline=resolved.baseline,
        candidate=_candidate_name(resolved) if shadow else None,
        epochs=resolved.epochs,
        concurrency=resolved.concurrency,
        rootdir=resolved.rootdir,
        report_dir=resolved.report_dir,
    )


def _candidate_name(resolved: Settings) -> str | None:
    try:
        return resolved.candidate.name
    except ConfigError:  # variants not declared yet (before sessionstart): the option's value
        return resolved.candidate_name


# ``pytest_opsladder.settings(config)`` calls session_settings; the module stays importable
# (``from pytest_opsladder.settings import Settings``) because the module itself is callable.
make_module_callable(__name__, "pytest_opsladder.settings:session_settings")
