"""Full-text search (SQLite FTS5 in embedded mode, PostgreSQL full-text in scaled mode)."""

from __future__ import annotations

import pytest
from django.db import connection

from meetings import search
from meetings.models import Summary
from meetings.services.transcript import transcript_segment_record
from tests.factories import ChatMessageFactory, MeetingFactory, TranscriptSegmentFactory, UserFactory
from tests.meetings.api.conftest import token_client

pytestmark = pytest.mark.backends


@pytest.fixture
def corpus(user, other_user):
    mine = MeetingFactory(owner=user, topic="Quarterly budget review")
    segment = TranscriptSegmentFactory(
        meeting=mine,
        speaker_name="Alice",
        start_ms=61_000,
        text="We should approve the marketing budgets <today>.",
    )
    TranscriptSegmentFactory(meeting=mine, text="The weather is nice.")
    TranscriptSegmentFactory(meeting=mine, text="budget partial words", is_final=False)
    chat = ChatMessageFactory(meeting=mine, sender_name="Bob", text="Link to the budget spreadsheet")
    summary = Summary.objects.create(meeting=mine, status="ready", overview="The team agreed on the budget.")
    theirs = MeetingFactory(owner=other_user, topic="Budget secrets")
    TranscriptSegmentFactory(meeting=theirs, text="The secret budget is large.")
    return {"meeting": mine, "segment": segment, "chat": chat, "summary": summary, "theirs": theirs}


def kinds_and_ids(hits) -> set[tuple[str, int]]:
    return {(hit.kind, hit.object_id) for hit in hits}


@pytest.mark.django_db
def test_finds_transcript_chat_summary_and_topic_of_visible_meetings_only(user, corpus):
    hits = search.search(user=user, query="budget")
    assert kinds_and_ids(hits) == {
        ("transcript", corpus["segment"].pk),  # stemmed: "budgets"
        ("chat", corpus["chat"].pk),
        ("summary", corpus["summary"].pk),
        ("topic", corpus["meeting"].pk),
    }
    assert all(hit.meeting_id == str(corpus["meeting"].public_id) for hit in hits)
    transcript = next(hit for hit in hits if hit.kind == "transcript")
    assert transcript.offset_ms == 61_000
    assert transcript.speaker == "Alice"
    page = f"/meetings/{corpus['meeting'].public_id}/"
    assert transcript.url == f"{page}?before=61000.{corpus['segment'].pk + 1}#segment-{corpus['segment'].pk}"
    assert next(hit for hit in hits if hit.kind == "chat").url == f"{page}#chat-{corpus['chat'].pk}"
    assert "<mark>" in transcript.snippet
    assert "<today>" not in transcript.snippet  # user text escaped (PostgreSQL's headline drops tags)
    if connection.vendor == "sqlite":
        assert "&lt;today&gt;" in transcript.snippet


@pytest.mark.django_db
def test_all_words_must_match_and_syntax_is_never_an_error(user, corpus):
    assert kinds_and_ids(search.search(user=user, query="approve marketing")) == {
        ("transcript", corpus["segment"].pk)
    }
    assert search.search(user=user, query="approve weather") == []
    for odd in ('"unbalanced', "budget*", "NEAR(a b)", "a:b", "-budget", "') OR 1=1 --"):
        search.search(user=user, query=odd)  # no exception
    assert search.search(user=user, query="  ...  ") == []


@pytest.mark.django_db
def test_index_follows_updates_and_deletes(user, corpus):
    segment = corpus["segment"]
    transcript_segment_record(
        meeting=corpus["meeting"],
        source=segment.source,
        source_key=segment.source_key,
        text="Completely reworded.",
        start_ms=0,
    )
    assert ("transcript", segment.pk) not in kinds_and_ids(search.search(user=user, query="budget"))
    assert kinds_and_ids(search.search(user=user, query="reworded")) == {("transcript", segment.pk)}
    corpus["meeting"].delete()
    assert search.search(user=user, query="reworded") == []


@pytest.mark.django_db
def test_shared_and_staff_users_search_what_they_can_see(other_user, corpus):
    assert {hit.meeting_id for hit in search.search(user=other_user, query="budget")} == {
        str(corpus["theirs"].public_id)
    }
    staff = UserFactory(is_staff=True)
    assert len({hit.meeting_id for hit in search.search(user=staff, query="budget")}) == 2


@pytest.mark.django_db
def test_api_search_is_paginated_and_filtered_by_kind(user, corpus):
    api = token_client(user)
    page = api.get("/api/search/?q=budget&limit=2").json()
    assert page["count"] == 4
    assert len(page["results"]) == 2
    only_chat = api.get("/api/search/?q=budget&kind=chat").json()["results"]
    assert [(r["kind"], r["object_id"]) for r in only_chat] == [("chat", corpus["chat"].pk)]
    assert api.get("/api/search/").status_code == 400
    assert api.get("/api/search/?q=budget&kind=nope").status_code == 400


@pytest.mark.django_db
def test_dashboard_search_page_links_to_the_moment(client, user, corpus):
    client.force_login(user)
    response = client.get("/search/?q=budgets")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/meetings/{corpus["meeting"].public_id}/?before=' in html
    assert f"#segment-{corpus['segment'].pk}" in html
    assert "secret" not in html
    assert "<mark>" in html
    assert client.get("/search/?q=").status_code == 200
    client.logout()
    assert client.get("/search/?q=budget").status_code == 302


@pytest.mark.django_db
def test_api_token_page_creates_replaces_and_revokes(client, user):
    from rest_framework.authtoken.models import Token

    client.force_login(user)
    assert client.get("/account/api-token/").status_code == 200
    client.post("/account/api-token/", {"action": "create"})
    first = Token.objects.get(user=user).key
    assert first in client.get("/account/api-token/").content.decode()
    client.post("/account/api-token/", {"action": "create"})
    assert Token.objects.get(user=user).key != first
    client.post("/account/api-token/", {"action": "revoke"})
    assert not Token.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_ensure_index_is_idempotent_and_rebuilds_a_stale_index(user, corpus):
    search.ensure_index()
    search.ensure_index()
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'meetings_segment_fts'")
            assert cursor.fetchone() is not None
        return
    with connection.cursor() as cursor:  # rows written while the triggers were missing
        cursor.execute("DROP TRIGGER meetings_fts_segment_ai")
    TranscriptSegmentFactory(meeting=corpus["meeting"], text="Unindexed zeppelin.")
    assert search.search(user=user, query="zeppelin") == []
    search.ensure_index()
    assert len(search.search(user=user, query="zeppelin")) == 1
