"""Request bodies sent with `Content-Encoding: gzip` or `deflate` (tritonclient's
`request_compression_algorithm`), decoded on every POST route within the same payload limit
as plain bodies: decoding stops one byte past the limit, so a decompression bomb is a 413
after at most `limit` bytes of output, never an out-of-memory. `deflate` is the zlib format
(RFC 9110), raw deflate is accepted too; `identity` is nothing; any other coding is a 415.
"""
from __future__ import annotations

import zlib

from .errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def decode_body(body: bytes, encoding: str, limit: int) -> bytes:
    """`body` with every coding in `encoding` (a Content-Encoding value, applied in order) undone."""
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding == "identity":
            continue
        if coding not in WBITS:
            raise UnsupportedMediaType(f"unsupported content encoding {coding!r}; send gzip, deflate or identity")
        try:
            body = _inflate(body, WBITS[coding], limit)
        except zlib.error as exc:
            if coding != "deflate":
                raise BadRequest(f"malformed {coding} body: {exc}") from exc
            try:
                body = _inflate(body, -zlib.MAX_WBITS, limit)  # raw deflate, as some clients send it
            except zlib.error as raw_exc:
                raise BadRequest(f"malformed deflate body: {raw_exc}") from raw_exc
    return body


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(data, limit + 1)
    if len(out) > limit:
        raise PayloadTooLarge(f"payload larger than the limit of {limit} bytes once decompressed")
    if not inflater.eof:
        raise zlib.error("the compressed stream ends early")
    if inflater.unused_data:
        raise zlib.error(f"{len(inflater.unused_data)} bytes follow the compressed stream")
    return out
