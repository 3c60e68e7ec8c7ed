"""Transport failures through vcrpy's http.client/urllib3 stubs (requests, urllib3, urllib).

vcrpy's ``VCRConnection.getresponse`` sends the request (connecting first) and stores the
response; a request that fails there left nothing in the cassette. Patched here, as the other
stubs are while runs are active (see :mod:`.dispatch`): a failure is handed to the store of the
caller's run (recorded, see :mod:`.failures`) and raised on; a recorded failure the store plays
back is raised as the connection's real class would raise it, so urllib3's pool and requests
wrap it exactly as they wrapped it live.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any
from unittest import mock

from pytest_opsladder.http.failures import RecordedFailure, classify, connection_error


def connection_patchers(store: Any) -> Iterator[AbstractContextManager[Any]]:
    """The ``getresponse`` patch of vcrpy's connection stub (every patched connection class
    inherits it from ``VCRConnection``)."""
    from vcr.stubs import VCRConnection

    yield mock.patch.object(VCRConnection, "getresponse", _getresponse(VCRConnection.getresponse))


def _getresponse(original: Any) -> Any:
    def getresponse(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except RecordedFailure as failure:
            raise connection_error(self.real_connection, failure.error, failure.url) from None
        except Exception as exc:  # raised on as it is; recorded when a transport failure
            kind = classify(exc)
            request = getattr(self, "_vcr_request", None)
            if kind is not None and request is not None:
                self.cassette.fail(request, exc, kind)
            raise

    return getresponse
