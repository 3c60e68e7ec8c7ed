"""argparse value types shared by the subcommands: a bad value is a usage error (exit 2)
naming the option, before any work starts, never a traceback from deep inside."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def port(text: str) -> int:
    """A TCP port: 0 (any free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a TCP port: use 0 (a free port) to 65535"
        )
    return value


def bounded_int(least: int, most: int) -> Callable[[str], int]:
    """An integer in ``[least, most]``; the error says the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(
                f"{text!r} must be an integer from {least:,} to {most:,}"
            )
        return value

    parse.__name__ = "integer"
    return parse
