"""HTTP Range requests on recordings (``meetings/ranges.py``): 206, 416, full 200, If-Range."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import RequestFactory
from django.utils.http import http_date

from meetings.ranges import ranged_file_response

BODY = bytes(range(256)) * 4  # 1024 distinct-ish bytes


@pytest.fixture
def path(tmp_path) -> Path:
    file = tmp_path / "audio.wav"
    file.write_bytes(BODY)
    return file


def get(path: Path, **headers):
    request = RequestFactory().get("/audio", headers=headers)
    response = ranged_file_response(request, path, content_type="audio/wav", filename="a.wav")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_no_range_is_the_whole_file_and_says_ranges_are_accepted(path):
    response, body = get(path)
    assert response.status_code == 200
    assert body == BODY
    assert response["Content-Length"] == "1024"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/wav"
    assert "Content-Range" not in response


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, 1024),
        ("bytes=-24", 1000, 1024),
        ("bytes=1000-5000", 1000, 1024),  # past the end: cut at the end
        ("bytes=1023-1023", 1023, 1024),
        ("bytes=0-0", 0, 1),
    ],
)
def test_one_satisfiable_range_is_206_with_exactly_those_bytes(path, header, start, stop):
    response, body = get(path, Range=header)
    assert response.status_code == 206
    assert body == BODY[start:stop]
    assert response["Content-Range"] == f"bytes {start}-{stop - 1}/1024"
    assert response["Content-Length"] == str(stop - start)
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=1024-1024"])
def test_a_range_starting_at_or_after_the_end_is_416(path, header):
    response, body = get(path, Range=header)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"
    assert body == b""


def test_any_range_of_an_empty_file_is_416(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    response, _ = get(empty, Range="bytes=0-")
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */0"


@pytest.mark.parametrize(
    "header", ["bytes=5-1", "bytes=abc", "items=0-1", "bytes=0-1,5-6", "bytes=", "bytes=-0"]
)
def test_a_range_we_may_ignore_gives_the_whole_file(path, header):
    """RFC 9110 §14.2: malformed, other units, several ranges → ignore the header (200)."""
    response, body = get(path, Range=header)
    assert response.status_code == 200
    assert body == BODY


def test_if_range_serves_the_part_only_while_the_file_is_unchanged(path):
    mtime = int(path.stat().st_mtime)
    fresh, body = get(path, Range="bytes=0-9", **{"If-Range": http_date(mtime)})
    assert (fresh.status_code, body) == (206, BODY[:10])
    assert fresh["Last-Modified"] == http_date(mtime)
    stale, body = get(path, Range="bytes=0-9", **{"If-Range": http_date(mtime - 60)})
    assert (stale.status_code, body) == (200, BODY)
    etag, _ = get(path, Range="bytes=0-9", **{"If-Range": '"some-etag"'})
    assert etag.status_code == 200


def test_a_growing_file_is_served_up_to_its_size_when_asked(path):
    request = RequestFactory().get("/audio", headers={"Range": "bytes=1000-"})
    response = ranged_file_response(request, path, content_type="audio/wav")
    with path.open("ab") as fh:  # the recorder appends meanwhile
        fh.write(b"\xff" * 500)
    assert b"".join(response.streaming_content) == BODY[1000:]
    assert response["Content-Range"] == "bytes 1000-1023/1024"
