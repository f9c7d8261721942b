"""The meeting domain: meetings, participants, transcript, chat, events, recordings, summaries.

Thin models (fields, named constraints, timeline indexes). Business rules live in
``meetings/services/`` (one module per entity); reads in ``meetings/selectors/``. One module
for all of the app's models (about 620 lines), as Django apps have them: ``makemigrations``,
the admin and every ``from meetings.models import ...`` find them in one place.

Times: ``*_ms`` fields are integer milliseconds relative to ``Meeting.started_at`` (the
``rtms_started`` webhook's ``event_ts``); wall-clock datetimes are aware UTC.

Every row written by ingestion carries a producer idempotency key (``source_key``) under a
named ``UniqueConstraint``, so a frame re-sent after a reconnect or takeover is stored once.
``seq`` is a per-meeting, monotonically increasing change number shared by segments, chat and
events: a browser or API client that saw ``seq`` N catches up with ``seq > N``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Meeting(models.Model):
    class Product(models.TextChoices):
        MEETING = "meeting", "Meeting"
        WEBINAR = "webinar", "Webinar"
        SESSION = "session", "Video SDK session"

    class Status(models.TextChoices):
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    class TranscriptMode(models.TextChoices):
        AUTO = "auto", "Zoom's transcript; Whisper when Zoom sends none"
        ZOOM = "zoom", "Zoom's transcript only"
        WHISPER = "whisper", "Whisper only"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    product = models.CharField(max_length=16, choices=Product.choices, default=Product.MEETING)
    # meeting_uuid / webinar_uuid / session_id: base64-ish, may contain "/+=" (PROTOCOL.md §2.2).
    zoom_uuid = models.CharField("Zoom instance id", max_length=200)
    zoom_meeting_id = models.CharField("Zoom meeting number", max_length=64, blank=True)
    topic = models.CharField(max_length=300, blank=True)
    host_user_id = models.CharField("Zoom operator/host id", max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LIVE)
    transcript_mode = models.CharField(
        max_length=16, choices=TranscriptMode.choices, default=TranscriptMode.AUTO
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_meetings",
    )
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_meetings")
    last_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "zoom_uuid"], name="meetings_meeting_unique_zoom_uuid"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="meetings_meeting_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["status", "-started_at"], name="meetings_meeting_status_start")]

    def __str__(self) -> str:
        """The topic; Zoom's ``rtms_started`` carries none, so until one is set: the meeting
        number in Zoom's 3-4-4 grouping ("Meeting 812 3456 7890"), else the local start time."""
        if self.topic:
            return self.topic
        label = self.get_product_display()
        number = self.zoom_meeting_id
        if number.isdigit() and len(number) >= 9:
            return f"{label} {number[:-8]} {number[-8:-4]} {number[-4:]}"
        if number:
            return f"{label} {number}"
        return f"{label} of {timezone.localtime(self.started_at):%d %b %Y, %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("meetings:detail", kwargs={"public_id": self.public_id})

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.LIVE


class ZoomIdentity(models.Model):
    """Links a user to their Zoom user id, so meetings they host (``operator_id``) are theirs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="zoom_identity"
    )
    zoom_user_id = models.CharField(max_length=128, unique=True)

    def __str__(self) -> str:
        return f"{self.user} = Zoom {self.zoom_user_id}"


class Participant(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="participants")
    zoom_user_id = models.CharField(max_length=64)  # int on the wire, string in some examples
    display_name = models.CharField(max_length=200, blank=True)  # as Zoom sends it; never edited
    # A name a person gave this speaker on the page (e.g. FEE013 -> "Fiona"); empty = Zoom's.
    custom_name = models.CharField(max_length=200, blank=True)
    first_joined_at = models.DateTimeField(null=True, blank=True)
    last_left_at = models.DateTimeField(null=True, blank=True)
    is_present = models.BooleanField(default=False)

    class Meta:
        ordering = ["meeting", "first_joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "zoom_user_id"], name="meetings_participant_unique_user"
            ),
        ]

    def __str__(self) -> str:
        return self.shown_name or f"user {self.zoom_user_id}"

    @property
    def shown_name(self) -> str:
        """The name shown everywhere (pages, exports, summaries, search): the custom name when
        someone renamed the speaker, else Zoom's ``display_name`` ("" when neither is known)."""
        return self.custom_name or self.display_name


class TranscriptSegment(models.Model):
    class Source(models.TextChoices):
        ZOOM = "zoom", "Zoom"
        WHISPER = "whisper", "Whisper"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="segments")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="segments"
    )
    speaker_name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    source_key = models.CharField(max_length=200)  # producer's idempotency key
    seq = models.BigIntegerField()
    start_ms = models.BigIntegerField()
    end_ms = models.BigIntegerField(null=True, blank=True)
    text = models.TextField()
    language = models.CharField(max_length=16, blank=True)
    is_final = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_ms", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "source", "source_key"], name="meetings_segment_unique_source_key"
            ),
            models.UniqueConstraint(fields=["meeting", "seq"], name="meetings_segment_unique_seq"),
            models.CheckConstraint(condition=Q(start_ms__gte=0), name="meetings_segment_start_not_negative"),
            models.CheckConstraint(
                condition=Q(end_ms__isnull=True) | Q(end_ms__gte=models.F("start_ms")),
                name="meetings_segment_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["meeting", "start_ms"], name="meetings_segment_timeline"),
            models.Index(fields=["meeting", "source", "start_ms"], name="meetings_segment_track"),
        ]

    def __str__(self) -> str:
        return f"{self.speaker_name or '?'} @ {self.start_ms} ms"

    @property
    def speaker(self) -> str:
        """The speaker as shown: the participant's custom name (a rename) if any, else the name
        Zoom gave the line (``speaker_name``). Reads ``self.participant``: select_related it."""
        if self.participant_id and self.participant.custom_name:
            return self.participant.custom_name
        return self.speaker_name


class ChatMessage(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="chat_messages")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_messages"
    )
    sender_name = models.CharField(max_length=200, blank=True)
    recipient_name = models.CharField(max_length=200, blank=True)  # empty = everyone
    source_key = models.CharField(max_length=200)  # Zoom message_id, or a hash of the frame
    seq = models.BigIntegerField()
    offset_ms = models.BigIntegerField()
    sent_at = models.DateTimeField()
    text = models.TextField()
    is_deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["offset_ms", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "source_key"], name="meetings_chat_unique_source_key"),
            models.UniqueConstraint(fields=["meeting", "seq"], name="meetings_chat_unique_seq"),
        ]
        indexes = [models.Index(fields=["meeting", "offset_ms"], name="meetings_chat_timeline")]

    def __str__(self) -> str:
        return f"{self.sender_name or '?'}: {self.text[:40]}"


class ParticipantEvent(models.Model):
    class Kind(models.TextChoices):
        JOIN = "join", "Joined"
        LEAVE = "leave", "Left"
        ACTIVE_SPEAKER = "active_speaker", "Active speaker"
        SHARING_START = "sharing_start", "Started sharing"
        SHARING_STOP = "sharing_stop", "Stopped sharing"
        PAUSE = "pause", "Stream paused"
        RESUME = "resume", "Stream resumed"
        INTERRUPTION = "interruption", "Stream interrupted"
        STREAM_START = "stream_start", "Stream started"
        STREAM_STOP = "stream_stop", "Stream stopped"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="events")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    source_key = models.CharField(max_length=200)
    seq = models.BigIntegerField()
    offset_ms = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    # Interruptions (and pauses): the gap ends at end_offset_ms; null while still open.
    end_offset_ms = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["offset_ms", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "source_key"], name="meetings_event_unique_source_key"
            ),
            models.UniqueConstraint(fields=["meeting", "seq"], name="meetings_event_unique_seq"),
            models.CheckConstraint(
                condition=Q(end_offset_ms__isnull=True) | Q(end_offset_ms__gte=models.F("offset_ms")),
                name="meetings_event_gap_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["meeting", "kind", "offset_ms"], name="meetings_event_timeline")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.offset_ms} ms"


class AudioRecording(models.Model):
    """A WAV file on disk (PCM s16le, 16 kHz mono): one per participant per stream, plus the mix."""

    class Kind(models.TextChoices):
        PARTICIPANT = "participant", "Participant"
        MIXED = "mixed", "Mixed"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="recordings")
    stream_key = models.CharField(max_length=200)  # the rtms_stream_id it came from
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="recordings"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    path = models.CharField(max_length=500)  # relative to settings.MEDIA_ROOT
    sample_rate = models.PositiveIntegerField(default=16000)
    channels = models.PositiveSmallIntegerField(default=1)
    start_ms = models.BigIntegerField(default=0)  # first sample, relative to meeting start
    data_bytes = models.BigIntegerField(default=0)
    frames_received = models.BigIntegerField(default=0)
    frames_dropped = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["meeting", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "stream_key", "participant"],
                condition=Q(kind="participant"),
                name="meetings_recording_unique_participant_track",
            ),
            models.UniqueConstraint(
                fields=["meeting", "stream_key"],
                condition=Q(kind="mixed"),
                name="meetings_recording_unique_mix",
            ),
            models.CheckConstraint(
                condition=Q(kind="mixed", participant__isnull=True)
                | Q(kind="participant", participant__isnull=False),
                name="meetings_recording_kind_matches_participant",
            ),
            models.CheckConstraint(
                condition=Q(data_bytes__gte=0), name="meetings_recording_bytes_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} recording {self.path}"

    @property
    def duration_ms(self) -> int:
        return self.data_bytes * 1000 // (self.sample_rate * 2 * self.channels) if self.sample_rate else 0


class Summary(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        INSUFFICIENT = "insufficient", "Not enough to summarize"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        FINAL = "final", "After the meeting"
        RUNNING = "running", "Running (during the meeting)"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="summaries")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FINAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # meeting.last_seq when requested: the same revision is summarized once (idempotency).
    transcript_revision = models.BigIntegerField(default=0)
    backend = models.CharField(max_length=32, blank=True)  # "offline" | "openai"
    model = models.CharField(max_length=200, blank=True)
    overview = models.TextField(blank=True)
    # [{"text": str, "segment_ids": [int, ...]}]
    key_points = models.JSONField(default=list, blank=True)
    decisions = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)  # e.g. "LLM failed: fell back to the offline summary"
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a worker claims it (PENDING -> RUNNING); a RUNNING row older than the task's time
    # limit belongs to a dead worker and may be claimed again.
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "kind", "transcript_revision"], name="meetings_summary_unique_revision"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} summary of {self.meeting_id} ({self.status})"


class ActionItem(models.Model):
    """A task from the notes. ``owner_kind`` says how the owner was found (labels/notes/GUIDELINE.md):
    the ``speaker`` committed to it, the ``addressee`` was asked, a named ``third_party``, the
    ``group`` (``owner_name`` "Everyone"), or ``unknown`` (nobody could be told: no name shown).

    People work with the items (``services.action_item_update``): ``status`` open/done with
    ``completed_at``, the text, the owner (a participant ``owner`` or a user ``assignee``), the
    ``due_date``; ``edited_at``/``edited_by`` mark an item a person changed, which a re-summary
    keeps (``services.action_items_store_generated`` matches new items to it by source segment
    and ``generated_text``, the summarizer's own wording).
    """

    class OwnerKind(models.TextChoices):
        SPEAKER = "speaker", "Committed to it"
        ADDRESSEE = "addressee", "Was asked"
        THIRD_PARTY = "third_party", "Named"
        GROUP = "group", "Everyone"
        UNKNOWN = "unknown", "Unknown"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    summary = models.ForeignKey(Summary, on_delete=models.CASCADE, related_name="action_items")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="action_items")
    position = models.PositiveIntegerField(default=0)
    text = models.TextField()
    owner = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    owner_name = models.CharField(max_length=200, blank=True)
    owner_kind = models.CharField(max_length=20, choices=OwnerKind.choices, blank=True)
    due_date = models.DateField(null=True, blank=True)
    due_text = models.CharField(max_length=100, blank=True)  # as said: "by Wednesday"
    source_segment = models.ForeignKey(
        TranscriptSegment, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    # Working with the item (issue 20): ticked, edited, assigned, re-dated by a person.
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    # A user of the product it is assigned to (instead of a participant ``owner``).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_action_items",
    )
    # The text as the summarizer wrote it: a re-summary matches its new items to this.
    generated_text = models.TextField(blank=True)
    # Set when a person changed the item: a re-summary keeps it as it is (never replaced).
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="edited_action_items",
    )

    class Meta:
        ordering = ["summary", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["summary", "position"], name="meetings_actionitem_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(status="done", completed_at__isnull=False)
                | Q(status="open", completed_at__isnull=True),
                name="meetings_actionitem_done_has_completed_at",
            ),
        ]
        indexes = [models.Index(fields=["assignee", "status"], name="meetings_actionitem_assignee")]

    def __str__(self) -> str:
        return self.text[:60]

    def get_absolute_url(self) -> str:
        """The item's page URL (GET: the item, POST: change it); loads ``meeting`` if not loaded."""
        return reverse(
            "meetings:action-item", kwargs={"public_id": self.meeting.public_id, "item_id": self.pk}
        )

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def owner_label(self) -> str:
        """Who it is for, as shown: the assigned user, else the participant, else the name said."""
        if self.assignee_id is not None:
            return self.assignee.get_full_name() or self.assignee.get_username()
        if self.owner_id is not None:
            return self.owner.shown_name or self.owner_name
        return self.owner_name


class WebhookSubscription(models.Model):
    """An integrator's outbound webhook: events of the meetings ``owner`` can see, POSTed to ``url``.

    Bodies are JSON signed with HMAC-SHA256 of ``secret`` (``meetings/outbound.py``). Targets on
    private, loopback or link-local addresses are refused unless ``allow_private`` is set.
    """

    class Event(models.TextChoices):
        MEETING_STARTED = "meeting.started", "Meeting started"
        MEETING_ENDED = "meeting.ended", "Meeting ended"
        TRANSCRIPT_SEGMENT = "transcript.segment", "Final transcript segment"
        SUMMARY_READY = "summary.ready", "Summary ready"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200)
    events = models.JSONField(default=list)  # a list of Event values
    active = models.BooleanField(default=True)
    allow_private = models.BooleanField(
        default=False, help_text="Allow private, loopback and link-local targets (development only)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner", "pk"]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not isinstance(self.events, list) or not self.events:
            raise ValidationError({"events": "a non-empty list of event names"})
        unknown = sorted(set(map(str, self.events)) - set(self.Event.values))
        if unknown:
            raise ValidationError(
                {"events": f"unknown events {unknown}; choose from {list(self.Event.values)}"}
            )
        if not self.url.lower().startswith(("http://", "https://")):
            raise ValidationError({"url": "an http(s) URL"})


class WebhookDelivery(models.Model):
    """One event for one subscription: the delivery log (attempts, last status code, next retry)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"
        REFUSED = "refused", "Refused (target not allowed)"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.CharField(max_length=64, choices=WebhookSubscription.Event.choices)
    idempotency_key = models.CharField(max_length=64, unique=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="meetings_delivery_log"),
            models.Index(fields=["status", "next_retry_at"], name="meetings_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription.url} ({self.status})"


class Bookmark(models.Model):
    """A transcript line someone marked, with an optional note (issue 20).

    Shared by everyone who can see the meeting. ``offset_ms`` (ms from the meeting start) is the
    line's start, copied at creation, so a bookmark keeps its place when its segment is later
    replaced (a Whisper re-transcription deletes segments: ``segment`` becomes null).
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="bookmarks")
    segment = models.ForeignKey(
        TranscriptSegment, null=True, blank=True, on_delete=models.SET_NULL, related_name="bookmarks"
    )
    offset_ms = models.BigIntegerField()
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="meeting_bookmarks",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["offset_ms", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "segment", "created_by"], name="meetings_bookmark_unique_line_user"
            ),
            models.CheckConstraint(
                condition=Q(offset_ms__gte=0), name="meetings_bookmark_offset_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["meeting", "offset_ms"], name="meetings_bookmark_timeline")]

    def __str__(self) -> str:
        return f"Bookmark @ {self.offset_ms} ms" + (f": {self.note[:40]}" if self.note else "")


# --- Sharing (issue 20: share links) -------------------------------------------------------------


class ShareLink(models.Model):
    """A revocable, expiring read-only link to a meeting's notes (works logged out).

    The URL carries a token signed with ``SECRET_KEY`` (``meetings/share_links.py``: Django's
    ``TimestampSigner`` over ``key``, stamped with ``created_at``); the row is what makes it
    revocable: a token opens the notes only while its row exists, ``revoked_at`` is null and
    ``expires_at`` is in the future.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="share_links")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="meetings_sharelink_expires_after_create",
            ),
        ]
        indexes = [models.Index(fields=["meeting", "-created_at"], name="meetings_sharelink_meeting")]

    def __str__(self) -> str:
        return f"Share link {self.pk} of meeting {self.meeting_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
