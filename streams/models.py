"""Ingestion state: RTMS streams (with their lease) and received Zoom webhooks.

A ``Stream`` is one ``rtms_stream_id``: Zoom allows one live connection per stream, so a
stream is held by at most one worker at a time (``lease_owner`` until ``lease_expires_at``).
State changes go through ``streams.services`` with conditional UPDATEs, never read-modify-write.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from meetings.models import Meeting


class Stream(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending (webhook received)"
        CONNECTING = "connecting", "Connecting"
        ACTIVE = "active", "Active"
        INTERRUPTED = "interrupted", "Interrupted"
        RETRYING = "retrying", "Retrying (reconnecting to Zoom)"
        PAUSED = "paused", "Paused"
        STOPPING = "stopping", "Stopping"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="streams")
    rtms_stream_id = models.CharField(max_length=200, unique=True)
    server_urls = models.TextField()  # signaling URL(s), comma-separated (PROTOCOL.md §2.2)
    # Bumped on a failover rtms_started (new server_urls): the holder reconnects to the new URL.
    server_urls_version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    started_event_ts = models.BigIntegerField(null=True, blank=True)  # webhook event_ts, epoch ms
    first_packet_ts = models.BigIntegerField(null=True, blank=True)  # FIRST_PACKET_TIMESTAMP, epoch ms
    connected_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.IntegerField(null=True, blank=True)  # RTMS_STOP_REASON (PROTOCOL.md §8.3)
    stop_detail = models.CharField(max_length=300, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    reconnect_count = models.PositiveIntegerField(default=0)  # successful reconnects and takeovers
    # While ``retrying`` (streams/rtms/reconnect.py): the next attempt's number, the last error,
    # when the next attempt starts and when Zoom's reconnect window ends (the stream then fails).
    # Kept after the stream fails (why); cleared when it is active again.
    retry_attempt = models.PositiveIntegerField(default=0)
    retry_error = models.CharField(max_length=300, blank=True)
    retry_next_at = models.DateTimeField(null=True, blank=True)
    retry_deadline_at = models.DateTimeField(null=True, blank=True)
    last_frame_at = models.DateTimeField(null=True, blank=True)
    audio_frames = models.BigIntegerField(default=0)
    audio_frames_dropped = models.BigIntegerField(default=0)
    has_zoom_transcript = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lease_owner="") | Q(lease_expires_at__isnull=False),
                name="streams_stream_lease_has_expiry",
            ),
        ]
        indexes = [models.Index(fields=["state", "lease_expires_at"], name="streams_stream_claimable")]

    def __str__(self) -> str:
        return f"stream {self.rtms_stream_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state not in (self.State.STOPPED, self.State.FAILED)


class WebhookEvent(models.Model):
    """A verified Zoom webhook, stored once (by body hash): the durable inbox of the ingest side.

    The webhook view only inserts the row (``applied_at`` null: pending) and answers; the ingest
    supervisor applies pending rows in ``pk`` order (``streams.webhook_events.webhook_events_apply``)
    and sets ``applied_at`` in the same transaction, so a crash in between re-applies it.
    """

    event = models.CharField(max_length=100)
    event_ts = models.BigIntegerField(null=True, blank=True)
    rtms_stream_id = models.CharField(max_length=200, blank=True, db_index=True)
    body_sha256 = models.CharField(max_length=64, unique=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)  # null: not applied yet
    outcome = models.CharField(max_length=16, blank=True)  # streams.webhook_events.WebhookOutcome.result

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(applied_at__isnull=True), name="streams_webhookevent_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.rtms_stream_id}"
