"""uvicorn's httptools protocol with a cap on the request line + header block.

httptools has no limit of its own (35 MB of headers were accepted). A complete head
is measured exactly (URL + each header's name and value + 4 bytes); a head that is
still arriving is measured by the bytes received for it, so one that never ends is
cut off within one socket read of the cap instead of being buffered whole. Either
way the client gets 431 with a JSON error and the connection is closed. The cost is
one comparison per received chunk and a sum over the headers per request.
"""
from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .errors import HeadersTooLarge

MAX_HEADER_BYTES = 64 * 1024


class CappedHttpToolsProtocol(HttpToolsProtocol):
    in_head = True  # a request's head is being received (or the connection is idle)
    head_bytes = 0
    events = 0  # heads begun or completed: a chunk that saw one is not all head bytes
    rejected = False

    def data_received(self, data: bytes) -> None:
        if self.rejected:
            return
        events = self.events
        super().data_received(data)
        if self.in_head and events == self.events and not self.rejected:
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEADER_BYTES:
                self.reject()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes, self.events = True, 0, self.events + 1

    def on_headers_complete(self) -> None:
        self.in_head, self.events = False, self.events + 1
        if len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEADER_BYTES:
            self.reject()
            raise _Rejected  # stops the parser (uvicorn sees a parser error; send_400_response stays quiet)
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self.rejected:
            super().send_400_response(msg)

    def reject(self) -> None:
        self.rejected = True
        self.logger.warning("request head over %d bytes: 431", MAX_HEADER_BYTES)
        error = HeadersTooLarge(f"request line and headers larger than {MAX_HEADER_BYTES} bytes")
        body = orjson.dumps({"error": str(error)})
        self.transport.write(STATUS_LINE[error.status] + b"content-type: application/json\r\ncontent-length: "
                             + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
        self.transport.close()


class _Rejected(Exception):
    pass
