"""A re-summary never undoes a person's work on the action items (issue 20, part 1).

The real offline summarizer runs over the planning meeting twice: the same transcript revision
(``summary_regenerate`` resets the summary) and a new revision (a new ``Summary`` row). Items a
person ticked, reworded, assigned or re-dated survive both with their changes, take the place of
the matching new item (no duplicate), and the untouched ones are regenerated.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from meetings.models import ActionItem, Meeting, Summary
from meetings.selectors.action_items import action_item_list_current
from meetings.services.action_items import _action_item_match_score, action_item_update
from meetings.services.transcript import transcript_segment_record
from meetings.summarizer import service
from tests.factories import MeetingFactory, ParticipantFactory, TranscriptSegmentFactory, UserFactory

pytestmark = pytest.mark.backends

STARTED = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
NAMES = {"A": "Alice", "B": "Bob"}


@pytest.fixture
def summarized(db, user, planning_turns, django_capture_on_commit_callbacks):
    meeting = MeetingFactory(owner=user, started_at=STARTED)
    people = {key: ParticipantFactory(meeting=meeting, display_name=name) for key, name in NAMES.items()}
    for number, turn in enumerate(planning_turns, start=1):
        TranscriptSegmentFactory(
            meeting=meeting,
            participant=people[turn["speaker"]],
            speaker_name=NAMES[turn["speaker"]],
            source_key=f"zoom-{number}",
            seq=number,
            text=turn["text"],
            start_ms=int(turn["start"] * 1000),
            end_ms=int(turn["end"] * 1000),
        )
    Meeting.objects.filter(pk=meeting.pk).update(
        status=Meeting.Status.ENDED, ended_at=timezone.now(), last_seq=len(planning_turns)
    )
    meeting.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        service.summary_regenerate(meeting=meeting)
    items = action_item_list_current(meeting=meeting)
    assert len(items) >= 3, "the planning meeting has at least three action items"
    return meeting, people, items


def _resummarize(meeting, capture, *, new_revision: bool) -> Summary:
    if new_revision:
        transcript_segment_record(
            meeting=meeting, source="zoom", source_key="late", text="One more thing.", start_ms=900_000
        )
    with capture(execute=True):
        summary = service.summary_regenerate(meeting=meeting)
    summary.refresh_from_db()
    assert summary.status == Summary.Status.READY
    return summary


@pytest.mark.django_db
@pytest.mark.parametrize("new_revision", [False, True], ids=["same-revision", "new-revision"])
def test_a_resummary_keeps_every_human_edit(
    summarized, user, django_capture_on_commit_callbacks, new_revision
):
    meeting, _people, items = summarized
    before_summary = items[0].summary_id
    ticked, reworded, untouched = items[0], items[1], items[2]
    generated = [item.text for item in items]
    colleague = UserFactory()
    meeting.shared_with.add(colleague)
    with django_capture_on_commit_callbacks(execute=True):
        action_item_update(item=ticked, user=user, status="done", due_date=dt.date(2026, 12, 24))
        action_item_update(
            item=reworded, user=user, text="Bob drafts the budget by Monday", assignee_id=colleague.pk
        )

    summary = _resummarize(meeting, django_capture_on_commit_callbacks, new_revision=new_revision)

    assert (summary.pk != before_summary) is new_revision
    after = action_item_list_current(meeting=meeting)
    assert {item.summary_id for item in after} == {summary.pk}
    by_pk = {item.pk: item for item in after}
    kept_ticked, kept_reworded = by_pk[ticked.pk], by_pk[reworded.pk]  # the same rows, not copies
    assert (kept_ticked.status, kept_ticked.due_date) == ("done", dt.date(2026, 12, 24))
    assert kept_ticked.completed_at is not None
    assert (kept_reworded.text, kept_reworded.assignee_id) == (
        "Bob drafts the budget by Monday",
        colleague.pk,
    )
    assert kept_reworded.owner_label == colleague.username
    # matched in place: no regenerated duplicate of an edited item, same count, same order
    assert [item.generated_text for item in after] == generated
    assert len(after) == len(items)
    assert after.index(kept_ticked) == 0
    assert after.index(kept_reworded) == 1
    # the untouched item was regenerated (a new row on the new summary, same text)
    assert untouched.pk not in by_pk or not new_revision
    assert after[2].text == untouched.text
    assert after[2].edited_at is None


@pytest.mark.django_db
def test_an_edited_item_no_new_summary_mentions_is_still_kept(
    summarized, user, django_capture_on_commit_callbacks
):
    """Human work is never deleted: an edited item whose source the new summary no longer finds
    stays, after the regenerated ones."""
    meeting, _people, items = summarized
    orphan = items[-1]
    ActionItem.objects.filter(pk=orphan.pk).update(
        generated_text="Something nobody said at all", source_segment=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        action_item_update(item=orphan, user=user, text="Book the venue")

    summary = _resummarize(meeting, django_capture_on_commit_callbacks, new_revision=True)

    after = action_item_list_current(meeting=meeting)
    assert after[-1].pk == orphan.pk
    assert after[-1].text == "Book the venue"
    assert after[-1].summary_id == summary.pk
    assert len(after) == len(items) + 1  # its generated twin came back as well, unedited
    assert sum(1 for item in after if item.edited_at is not None) == 1


def test_matching_prefers_the_same_segment_and_tolerates_rewording():
    edited = ActionItem(
        text="Bob: budget by Monday", generated_text="Bob will send the budget", source_segment_id=7
    )
    same_segment = ActionItem(text="Bob will send the budget draft", source_segment_id=7)
    other_segment = ActionItem(text="Bob will send the budget draft", source_segment_id=8)
    unrelated = ActionItem(text="Alice books the room", source_segment_id=7)
    score = _action_item_match_score
    assert score(same_segment, edited) > score(other_segment, edited) == 0.0
    assert score(unrelated, edited) == 0.0
