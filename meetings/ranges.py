"""Files served with HTTP Range requests (RFC 9110 §14): what an ``<audio>`` element needs to seek.

Django's ``FileResponse`` always sends the whole file, and a browser cannot seek in a WAV it did
not fully download (Chromium then restarts playback from 0). :func:`ranged_file_response` adds
single byte ranges to it. The ``Range`` header is parsed by Werkzeug's ``parse_range_header``
(Pallets, maintained, handles the RFC's forms: ``bytes=a-b``, open ``bytes=a-``, suffix
``bytes=-n``); the response logic here is a few lines. ``django-ranged-response`` was not used:
its last release is from 2017 and it answers an unsatisfiable range with the whole file.

Rules:

* no ``Range`` header, or one we may ignore (RFC 9110 §14.2: malformed, another unit, several
  ranges, an ``If-Range`` that does not match the file) → **200** with the whole file;
* one satisfiable byte range → **206 Partial Content**, ``Content-Range: bytes a-b/size``,
  ``Content-Length`` = b − a + 1; a range reaching past the end is cut at the end;
* one byte range that starts at or after the end (or any range of an empty file) → **416 Range
  Not Satisfiable** with ``Content-Range: bytes */size`` and no body.

Every answer carries ``Accept-Ranges: bytes``, ``Last-Modified`` and ``Cache-Control: private``
(the files sit behind access checks).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.http import http_date, parse_http_date_safe
from werkzeug.http import parse_range_header


class _Slice:
    """Reads at most ``length`` bytes of ``fh`` from its current position (FileResponse's source)."""

    def __init__(self, fh, length: int) -> None:
        self.fh, self.remaining = fh, length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.fh.read(size)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.fh.close()


def _if_range_matches(header: str, mtime: int) -> bool:
    """``If-Range`` with a date matches when the file was not modified since (ETags: never)."""
    if not header:
        return True
    since = parse_http_date_safe(header)
    return since is not None and mtime <= since


def byte_range(request: HttpRequest, size: int, mtime: int) -> tuple[int, int] | bool | None:
    """The one range to send, as ``(start, stop)`` (stop exclusive); None = send everything;
    False = unsatisfiable (416)."""
    header = request.headers.get("Range", "")
    if not header or not _if_range_matches(request.headers.get("If-Range", ""), mtime):
        return None
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return None
    span = parsed.range_for_length(size)
    return span if span is not None else False


def ranged_file_response(
    request: HttpRequest,
    path: Path,
    *,
    content_type: str,
    filename: str = "",
    as_attachment: bool = False,
) -> HttpResponse:
    """``path`` as a 200, 206 or 416 response (see the module docstring).

    The size is taken once at the start, so a file that is still growing (a live recording) is
    served consistently up to that size. Raises ``FileNotFoundError``/``OSError`` if it cannot
    be opened (callers check existence first and answer 404).
    """
    fh = path.open("rb")
    stat = os.fstat(fh.fileno())
    size, mtime = stat.st_size, int(stat.st_mtime)
    span = byte_range(request, size, mtime)
    if span is False:
        fh.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif span is None:
        response = FileResponse(
            _Slice(fh, size), content_type=content_type, as_attachment=as_attachment, filename=filename
        )
        response["Content-Length"] = str(size)
    else:
        start, stop = span
        fh.seek(start)
        response = FileResponse(
            _Slice(fh, stop - start),
            status=206,
            content_type=content_type,
            as_attachment=as_attachment,
            filename=filename,
        )
        response["Content-Length"] = str(stop - start)
        response["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Last-Modified"] = http_date(mtime)
    response["Cache-Control"] = "private"
    return response
