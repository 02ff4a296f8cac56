"""The venue's JSON response: Starlette's, except that text UTF-8 cannot encode (a lone
surrogate in something stored before requests were checked for them) is rendered with U+FFFD
in its place instead of failing the request."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from tradewind.venue.wire import scrub


class VenueJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return super().render(scrub(content))
