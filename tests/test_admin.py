"""The admin shows every model: changelists, search and change pages load."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import (
    ChatMessageFactory,
    ParticipantEventFactory,
    ParticipantFactory,
    StreamFactory,
    TranscriptSegmentFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def populated(db):
    segment = TranscriptSegmentFactory()
    ParticipantFactory(meeting=segment.meeting)
    ChatMessageFactory(meeting=segment.meeting)
    ParticipantEventFactory(meeting=segment.meeting)
    StreamFactory(meeting=segment.meeting)
    return segment.meeting


def our_models():
    return [m for app in ("meetings", "streams") for m in apps.get_app_config(app).get_models()]


def test_every_model_is_registered():
    missing = [m.__name__ for m in our_models() if m not in admin.site._registry]
    assert missing == []


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_changelist_and_search_load(admin_client, populated, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "zoom"}).status_code == 200


def test_meeting_page_links_to_its_segments_instead_of_inlining_them(admin_client, populated):
    url = reverse("admin:meetings_meeting_change", args=[populated.pk])
    html = admin_client.get(url).content.decode()
    assert f"transcriptsegment/?meeting__id__exact={populated.pk}" in html
