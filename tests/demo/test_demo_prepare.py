"""The demo's preparation and naming (issue 20): the demo login opens the admin, and a meeting
keeps its demo topic even when ingestion creates it after the webhook was acknowledged."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from demo import steps as demo
from meetings.models import Meeting
from tests.factories import MeetingFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_user_is_an_admin_and_can_open_the_admin(client):
    token = demo.demo_user_prepare()
    assert token
    assert client.login(username=demo.DEMO_USER, password=demo.DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/meetings/meeting/").status_code == 200


def test_demo_user_prepare_promotes_an_existing_demo_user():
    UserFactory(username=demo.DEMO_USER)  # from a run before demo users were staff
    demo.demo_user_prepare()
    user = get_user_model().objects.get(username=demo.DEMO_USER)
    assert user.is_staff
    assert user.is_superuser


def test_naming_waits_for_the_meeting_created_after_the_webhook(monkeypatch):
    """The race of one ``make demo`` run: the rename ran before ingestion created the meeting
    and changed nothing. Now it polls until the meeting exists."""
    sleeps = []

    def ingestion_catches_up(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:  # the meeting appears a few polls later
            MeetingFactory(zoom_uuid="late-uuid==", topic="")

    monkeypatch.setattr(demo.time, "sleep", ingestion_catches_up)
    assert demo._meeting_name("late-uuid==", "AMI design meeting (demo, live Whisper)", timeout=60)
    assert Meeting.objects.get(zoom_uuid="late-uuid==").topic == "AMI design meeting (demo, live Whisper)"
    assert len(sleeps) == 3


def test_naming_gives_up_after_the_timeout_and_says_so(monkeypatch):
    monkeypatch.setattr(demo.time, "sleep", lambda seconds: None)
    assert demo._meeting_name("never-uuid==", "Topic", timeout=0) is False


def test_naming_keeps_a_topic_the_meeting_already_has():
    MeetingFactory(zoom_uuid="named-uuid==", topic="Zoom's own topic")
    assert demo._meeting_name("named-uuid==", "Demo topic", timeout=0)
    assert Meeting.objects.get(zoom_uuid="named-uuid==").topic == "Zoom's own topic"
