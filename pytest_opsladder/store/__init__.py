"""The production run store (ladder level 7): run files partitioned by date, a JSON-lines index.

    <store>/
      index.jsonl                 one line per finished run (see :mod:`.index`)
      reviews.jsonl               reviewers' verdicts, append-only (see :mod:`.reviews`)
      2026-11-24/<run_id>.json    the redacted run record (a cassette envelope)

Point production code at a directory with ``capture(..., store=DIR)``, or leave ``store`` out
and set ``OPSLADDER_STORE=DIR``; the CLI (``opsladder sample`` / ``review``) reads ``--store``,
else ``OPSLADDER_STORE``, else ``runs/``.
"""

from __future__ import annotations
