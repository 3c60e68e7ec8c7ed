"""Ladder level 1, schedule and receipts: monitors, the dead man's switch, alert sinks."""

from __future__ import annotations
