"""Drift statistics and the CI gate (ladder level 7).

The shadow plugin builds a metrics table from baseline and candidate runs
(:func:`pytest_opsladder.drift.table.metrics_table`), scores it with
:func:`pytest_opsladder.drift.results.score` against a
:class:`~pytest_opsladder.drift.gate.GateConfig`, and writes the results JSON
(:func:`pytest_opsladder.drift.results.write_results`). Nothing here imports pytest, and
pandas/scipy are imported only by the modules that compute, so importing this package at plugin
load costs nothing.
"""

from __future__ import annotations
