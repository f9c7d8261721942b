"""The summary panel says in plain words how the notes were made; method and timing in a tooltip."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from meetings.models import Summary


def panel(meeting, **fields) -> str:
    summary = Summary.objects.create(
        meeting=meeting,
        status=Summary.Status.READY,
        overview="The login bug is fixed before Thursday's release.",
        duration_ms=72,
        completed_at=timezone.now(),
        **fields,
    )
    return render_to_string("meetings/partials/_summary.html", {"meeting": meeting, "summary": summary})


@pytest.mark.django_db
def test_offline_notes_say_they_were_extracted_from_the_transcript(meeting):
    html = panel(meeting, backend="offline", model="sumy-lsa+luhn")

    assert "Extracted from the transcript" in html
    assert "Written by" not in html
    assert 'title="offline (sumy-lsa+luhn) · 72 ms"' in html  # for whoever hovers, not in the text
    assert ">offline" not in html


@pytest.mark.django_db
def test_llm_notes_name_the_model_that_wrote_them(meeting):
    html = panel(meeting, backend="openai", model="smollm2-135m")

    assert "Written by smollm2-135m" in html
    assert "Extracted from the transcript" not in html
    assert 'title="openai (smollm2-135m) · 72 ms"' in html


@pytest.mark.django_db
def test_llm_notes_without_a_model_name(meeting):
    assert "Written by a language model" in panel(meeting, backend="openai", model="")
