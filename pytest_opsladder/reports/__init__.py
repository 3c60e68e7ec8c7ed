"""Reports of a shadow run (ladder level 7): one self-contained HTML file, and summaries for CI.

The lead's pytest side calls :func:`write_reports` at the end of a shadow session and prints
:func:`terminal_summary`; ``opsladder report`` re-renders from a results JSON. Importing this
package imports nothing heavy: jinja2 is loaded when a report is rendered.
"""

from __future__ import annotations

from pytest_opsladder.reports.ci_summaries import terminal_summary
from pytest_opsladder.reports.results_file import load_results
from pytest_opsladder.reports.writer import write_reports

__all__ = ["load_results", "terminal_summary", "write_reports"]
