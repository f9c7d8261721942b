"""Stream and WebhookEvent constraints."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from streams.models import Stream, WebhookEvent
from tests.factories import StreamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.backends]


def test_rtms_stream_id_is_unique():
    stream = StreamFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StreamFactory(rtms_stream_id=stream.rtms_stream_id)


def test_a_lease_always_has_an_expiry():
    with pytest.raises(IntegrityError), transaction.atomic():
        StreamFactory(lease_owner="worker-1", lease_expires_at=None)
    stream = StreamFactory(lease_owner="worker-1", lease_expires_at=timezone.now())
    assert stream.lease_owner == "worker-1"


def test_stream_is_open_until_stopped_or_failed():
    assert StreamFactory(state=Stream.State.ACTIVE).is_open
    assert not StreamFactory(state=Stream.State.STOPPED).is_open
    assert not StreamFactory(state=Stream.State.FAILED).is_open


def test_webhook_bodies_are_stored_once():
    WebhookEvent.objects.create(event="meeting.rtms_started", body_sha256="a" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookEvent.objects.create(event="meeting.rtms_started", body_sha256="a" * 64)
