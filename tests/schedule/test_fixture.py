"""The ``opsladder_monitors`` fixture in a user's suite, with and without xdist."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_opsladder_monitors_gives_an_isolated_state_and_clock(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_nightly_job_is_watched(opsladder_monitors, n):
            kit = opsladder_monitors
            kit.add("nightly", cron="0 3 * * *", timezone="Europe/Berlin", grace="15m")
            assert kit.store.receipts("nightly") == []  # isolated: nothing from other tests
            with kit.receipts.job("nightly"):
                pass
            kit.clock.advance(days=2)
            [report] = kit.check()
            assert report.outcomes == ["ok", "missed", "missed"]
            assert [a["kind"] for a in kit.alerts()] == ["missed"]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", *xdist)
    result.assert_outcomes(passed=3)
