"""``meetings.services.transcript.transcript_segment_record``: the one write of a transcript line,
tested here against its docstring (idempotent, revisions take a new seq, finals never downgrade,
empty text refused)."""

from __future__ import annotations

import pytest

from meetings.models import TranscriptSegment
from meetings.services.transcript import transcript_segment_record

pytestmark = pytest.mark.django_db

ZOOM = TranscriptSegment.Source.ZOOM


def record(meeting, **overrides):
    fields = {
        "source": ZOOM,
        "source_key": "k1",
        "text": "We need a remote.",
        "start_ms": 1_000,
        "end_ms": 2_000,
    }
    return transcript_segment_record(meeting=meeting, **(fields | overrides))


def test_the_same_line_twice_is_stored_once_and_changes_nothing(meeting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as first_callbacks:
        segment, changed = record(meeting)
    assert changed
    assert first_callbacks  # the live push waits for the commit
    with django_capture_on_commit_callbacks(execute=False) as again_callbacks:
        again, changed_again = record(meeting)
    assert (again.pk, changed_again) == (segment.pk, False)
    assert again_callbacks == []  # nothing new: nothing pushed
    assert TranscriptSegment.objects.filter(meeting=meeting).count() == 1


def test_a_revision_updates_the_row_with_a_new_seq(meeting):
    partial, _ = record(meeting, text="We need a", is_final=False)
    final, changed = record(meeting, text="We need a remote.", is_final=True)
    assert changed
    assert final.pk == partial.pk
    assert final.seq > partial.seq
    assert TranscriptSegment.objects.get(pk=final.pk).text == "We need a remote."


def test_a_final_line_is_never_downgraded_to_a_partial(meeting):
    final, _ = record(meeting, is_final=True)
    record(meeting, text="We need a", is_final=False)
    stored = TranscriptSegment.objects.get(pk=final.pk)
    assert stored.is_final
    assert stored.text == "We need a remote."


def test_empty_text_is_refused(meeting):
    with pytest.raises(ValueError, match="needs text"):
        record(meeting, text="   ")
    assert not TranscriptSegment.objects.filter(meeting=meeting).exists()
