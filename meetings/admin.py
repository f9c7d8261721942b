from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from meetings.models import (
    ActionItem,
    AudioRecording,
    Bookmark,
    ChatMessage,
    Meeting,
    Participant,
    ParticipantEvent,
    Summary,
    TranscriptSegment,
    WebhookDelivery,
    WebhookSubscription,
    ZoomIdentity,
)
from meetings.summarizer.service import summary_regenerate
from meetings.tasks import webhook_deliver


def _changelist_link(model: str, meeting_id: int, label: str) -> str:
    url = reverse(f"admin:meetings_{model}_changelist") + f"?meeting__id__exact={meeting_id}"
    return format_html('<a href="{}">{}</a>', url, label)


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "product",
        "status",
        "started_at",
        "ended_at",
        "owner",
        "segment_count",
        "links",
    )
    list_filter = ("status", "product", "transcript_mode", "started_at")
    search_fields = (
        "topic",
        "zoom_uuid",
        "zoom_meeting_id",
        "host_user_id",
        "public_id",
        "streams__rtms_stream_id",
    )
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    filter_horizontal = ("shared_with",)
    date_hierarchy = "started_at"
    readonly_fields = (
        "public_id",
        "product",
        "zoom_uuid",
        "zoom_meeting_id",
        "host_user_id",
        "started_at",
        "ended_at",
        "last_seq",
        "links",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_segments=Count("segments", distinct=True))

    @admin.display(description="segments", ordering="_segments")
    def segment_count(self, obj: Meeting) -> int:
        return obj._segments

    actions = ["regenerate_summary"]

    @admin.action(description="Regenerate summary")
    def regenerate_summary(self, request, queryset) -> None:
        for meeting in queryset:
            summary_regenerate(meeting=meeting)
        self.message_user(request, f"Summary requested for {queryset.count()} meeting(s).")

    @admin.display(description="timeline")
    def links(self, obj: Meeting) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            "{} · {} · {} · {}",
            _changelist_link("transcriptsegment", obj.pk, "transcript"),
            _changelist_link("chatmessage", obj.pk, "chat"),
            _changelist_link("participantevent", obj.pk, "events"),
            _changelist_link("participant", obj.pk, "participants"),
        )


@admin.register(ZoomIdentity)
class ZoomIdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "zoom_user_id")
    search_fields = ("user__username", "zoom_user_id")
    raw_id_fields = ("user",)


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("__str__", "zoom_user_id", "meeting", "first_joined_at", "last_left_at", "is_present")
    list_filter = ("is_present",)
    search_fields = ("display_name", "custom_name", "zoom_user_id", "meeting__zoom_uuid", "meeting__topic")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting",)
    readonly_fields = ("meeting", "zoom_user_id", "first_joined_at", "last_left_at", "is_present")


@admin.register(TranscriptSegment)
class TranscriptSegmentAdmin(admin.ModelAdmin):
    list_display = (
        "seq",
        "meeting",
        "speaker_name",
        "source",
        "start_ms",
        "end_ms",
        "is_final",
        "short_text",
    )
    list_filter = ("source", "is_final", "language")
    search_fields = ("text", "speaker_name", "source_key", "meeting__zoom_uuid", "participant__zoom_user_id")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting", "participant")
    readonly_fields = (
        "meeting",
        "participant",
        "source",
        "source_key",
        "seq",
        "start_ms",
        "end_ms",
        "created_at",
        "updated_at",
    )

    @admin.display(description="text")
    def short_text(self, obj: TranscriptSegment) -> str:
        return obj.text[:80]


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ("seq", "meeting", "sender_name", "recipient_name", "sent_at", "text")
    search_fields = ("text", "sender_name", "source_key", "meeting__zoom_uuid")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting", "participant")
    readonly_fields = ("meeting", "participant", "source_key", "seq", "offset_ms", "sent_at")


@admin.register(ParticipantEvent)
class ParticipantEventAdmin(admin.ModelAdmin):
    list_display = ("seq", "meeting", "kind", "participant", "offset_ms", "end_offset_ms", "reason")
    list_filter = ("kind",)
    search_fields = (
        "participant__display_name",
        "participant__zoom_user_id",
        "source_key",
        "meeting__zoom_uuid",
    )
    list_select_related = ("meeting", "participant")
    raw_id_fields = ("meeting", "participant")
    readonly_fields = (
        "meeting",
        "participant",
        "kind",
        "source_key",
        "seq",
        "offset_ms",
        "occurred_at",
        "end_offset_ms",
    )


@admin.register(AudioRecording)
class AudioRecordingAdmin(admin.ModelAdmin):
    list_display = (
        "meeting",
        "kind",
        "participant",
        "duration_ms",
        "data_bytes",
        "frames_received",
        "frames_dropped",
    )
    list_filter = ("kind",)
    search_fields = ("path", "stream_key", "meeting__zoom_uuid", "participant__display_name")
    list_select_related = ("meeting", "participant")
    raw_id_fields = ("meeting", "participant")
    readonly_fields = (
        "meeting",
        "stream_key",
        "participant",
        "kind",
        "path",
        "sample_rate",
        "channels",
        "start_ms",
        "data_bytes",
        "frames_received",
        "frames_dropped",
    )


class ActionItemInline(admin.TabularInline):
    model = ActionItem
    extra = 0
    raw_id_fields = ("owner", "source_segment", "meeting")


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ("meeting", "kind", "status", "backend", "model", "duration_ms", "created_at")
    list_filter = ("status", "kind", "backend")
    search_fields = ("meeting__topic", "meeting__zoom_uuid", "overview")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting",)
    readonly_fields = (
        "transcript_revision",
        "backend",
        "model",
        "duration_ms",
        "created_at",
        "started_at",
        "completed_at",
    )
    inlines = [ActionItemInline]


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ("text", "owner_name", "due_date", "due_text", "meeting")
    search_fields = ("text", "owner_name", "meeting__topic")
    list_select_related = ("meeting",)
    raw_id_fields = ("summary", "meeting", "owner", "source_segment")


class WebhookDeliveryInline(admin.TabularInline):
    """The latest deliveries of a subscription (the full log is under Webhook deliveries)."""

    model = WebhookDelivery
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at",)
    fields = ("created_at", "event", "status", "attempts", "last_status_code", "last_error", "delivered_at")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("url", "owner", "events", "active", "allow_private", "created_at")
    list_filter = ("active", "allow_private")
    search_fields = ("url", "owner__username")
    raw_id_fields = ("owner",)
    inlines = [WebhookDeliveryInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event",
        "subscription",
        "meeting",
        "status",
        "attempts",
        "last_status_code",
        "next_retry_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "last_status_code")
    search_fields = ("idempotency_key", "subscription__url", "meeting__topic", "last_error")
    list_select_related = ("subscription", "meeting")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Retry the selected deliveries now")
    def retry_now(self, request, queryset) -> None:
        ids = list(queryset.exclude(status=WebhookDelivery.Status.DELIVERED).values_list("pk", flat=True))
        queryset.filter(pk__in=ids).update(status=WebhookDelivery.Status.PENDING, next_retry_at=None)
        for delivery_id in ids:
            webhook_deliver.delay(delivery_id)
        self.message_user(request, f"{len(ids)} deliveries queued.")


# --- Speaker names and bookmarks (issue 20) ---------------------------------------------------


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):
    list_display = ("__str__", "meeting", "offset_ms", "created_by", "created_at")
    search_fields = ("note", "meeting__topic", "meeting__zoom_uuid", "created_by__username")
    list_select_related = ("meeting", "created_by")
    raw_id_fields = ("meeting", "segment", "created_by")
    readonly_fields = ("created_at", "updated_at")


# --- Sharing (issue 20) ------------------------------------------------------------------------
from meetings.models import ShareLink  # noqa: E402


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Read-only links to meetings' notes: who made them, until when; staff can revoke them
    (the token is never shown here; the owner copies it from the meeting page)."""

    list_display = ("meeting", "created_by", "created_at", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("meeting__topic", "created_by__username")
    list_select_related = ("meeting", "created_by")
    raw_id_fields = ("meeting", "created_by")
    readonly_fields = ("key", "created_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # created from the meeting page or the API (share_link_create)

    @admin.action(description="Revoke the selected links")
    def revoke(self, request, queryset) -> None:
        from meetings.services.sharing import share_link_revoke

        count = 0
        for link in queryset.filter(revoked_at__isnull=True):
            share_link_revoke(meeting=link.meeting, link_id=link.pk)
            count += 1
        self.message_user(request, f"{count} link(s) revoked.")
