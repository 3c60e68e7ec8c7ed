"""LLM-faithful HTTP recording inside a run (ladder level 0: capture and replay).

HTTP made while an agent runs is recorded through vcrpy's patchers (httpx and httpx2 through a
chunk-faithful transport of our own, requests/urllib3/aiohttp through vcrpy's stubs) into the
run's cassette, matched on a canonical, provider-aware form with an index, scrubbed of
credentials before anything reaches disk, and counted as replayed / recorded / live / blocked.
"""

from __future__ import annotations
