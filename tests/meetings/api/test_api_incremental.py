"""``?after_seq=N``: incremental transcript fetch returns every segment revision exactly once."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from meetings.models import Meeting, TranscriptSegment
from meetings.services.chat import chat_message_record
from meetings.services.transcript import transcript_segment_record
from tests.factories import MeetingFactory, UserFactory
from tests.meetings.api.conftest import token_client


def fetch_all(
    api, meeting: Meeting, *, after_seq: int = 0, limit: int = 100, source: str = ""
) -> tuple[list, int]:
    rows: list[dict] = []
    while True:
        query = f"?after_seq={after_seq}&limit={limit}" + (f"&source={source}" if source else "")
        page = api.get(f"/api/meetings/{meeting.public_id}/transcript/{query}").json()
        rows += page["results"]
        after_seq = page["next_after_seq"]
        if not page["has_more"]:
            return rows, after_seq


@pytest.mark.django_db
def test_revised_segment_reappears_once_with_its_new_seq(api, meeting):
    first, _ = transcript_segment_record(
        meeting=meeting, source="zoom", source_key="a", text="hello wrld", start_ms=0, is_final=False
    )
    transcript_segment_record(meeting=meeting, source="zoom", source_key="b", text="second", start_ms=900)
    rows, cursor = fetch_all(api, meeting, limit=1)
    assert [(r["id"], r["text"]) for r in rows] == [(first.pk, "hello wrld"), (rows[1]["id"], "second")]
    assert fetch_all(api, meeting, after_seq=cursor)[0] == []

    transcript_segment_record(
        meeting=meeting, source="zoom", source_key="a", text="hello world", start_ms=0, is_final=True
    )
    transcript_segment_record(  # the same content again: no new seq, not re-sent
        meeting=meeting, source="zoom", source_key="a", text="hello world", start_ms=0, is_final=True
    )
    rows, new_cursor = fetch_all(api, meeting, after_seq=cursor)
    assert [(r["id"], r["text"], r["is_final"]) for r in rows] == [(first.pk, "hello world", True)]
    assert rows[0]["seq"] == new_cursor > cursor
    assert fetch_all(api, meeting, after_seq=new_cursor)[0] == []


@pytest.mark.django_db
def test_source_filter_and_limit(api, meeting):
    for i in range(5):
        transcript_segment_record(
            meeting=meeting, source="zoom", source_key=f"z{i}", text=f"z {i}", start_ms=i
        )
    transcript_segment_record(meeting=meeting, source="whisper", source_key="w", text="w", start_ms=0)
    page = api.get(f"/api/meetings/{meeting.public_id}/transcript/?limit=2&source=zoom").json()
    assert [r["text"] for r in page["results"]] == ["z 0", "z 1"]
    assert page["has_more"] is True
    assert page["meeting_last_seq"] == 6
    rows, _ = fetch_all(api, meeting, source="whisper")
    assert [r["text"] for r in rows] == ["w"]
    assert api.get(f"/api/meetings/{meeting.public_id}/transcript/?source=otter").status_code == 400
    assert api.get(f"/api/meetings/{meeting.public_id}/transcript/?limit=0").status_code == 400


@pytest.mark.backends
@pytest.mark.django_db(transaction=True)
def test_polling_while_services_write_concurrently_sees_every_revision_once():
    """A writer thread records and revises segments (plus chat, taking seqs) while the client polls."""
    owner = UserFactory()
    meeting = MeetingFactory(owner=owner)
    api = token_client(owner)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(80):
                transcript_segment_record(
                    meeting=meeting,
                    source="zoom",
                    source_key=f"k{i}",
                    text=f"partial {i}",
                    start_ms=i * 100,
                    is_final=False,
                )
                if i % 3 == 0:
                    chat_message_record(
                        meeting=meeting, source_key=f"c{i}", text=f"chat {i}", sent_at=meeting.started_at
                    )
                if i >= 2:  # finalize the segment from two steps back (a revision: new seq)
                    transcript_segment_record(
                        meeting=meeting,
                        source="zoom",
                        source_key=f"k{i - 2}",
                        text=f"final {i - 2}",
                        start_ms=(i - 2) * 100,
                        is_final=True,
                    )
                time.sleep(0.002)
            for j in (78, 79):
                transcript_segment_record(
                    meeting=meeting, source="zoom", source_key=f"k{j}", text=f"final {j}", start_ms=j * 100
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection
            done.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    seen: list[dict] = []
    cursor = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        finished = done.is_set()
        rows, cursor = fetch_all(api, meeting, after_seq=cursor, limit=7)
        seen += rows
        if finished:
            break
        time.sleep(0.005)
    thread.join(timeout=10)
    assert not errors, errors
    assert done.is_set()

    pairs = [(r["id"], r["seq"]) for r in seen]
    assert len(pairs) == len(set(pairs)), "a revision was returned twice"
    seqs = [r["seq"] for r in seen]
    assert seqs == sorted(seqs)
    final = {s.pk: (s.seq, s.text) for s in TranscriptSegment.objects.filter(meeting=meeting)}
    assert len(final) == 80
    last_seen = {r["id"]: (r["seq"], r["text"]) for r in seen}
    assert last_seen == final  # every segment, in its latest revision
    assert all(text.startswith("final") for _, text in final.values())
