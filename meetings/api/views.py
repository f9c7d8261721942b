"""REST API: the base of every API view, the meeting list and one meeting (detail, delete).

Each view parses input, looks the meeting up through ``meeting_get_for_user``
(another user's meeting is a 404, never a 403, so ids are not confirmed), calls one selector or
service and responds. Authentication: ``Authorization: Token <key>`` (or ``Bearer <key>``, the
same key: ``meetings.api.authentication``) or the dashboard session.

One APIView per operation, nested Input/Output serializers (HackSoft style); the other resources
of a meeting have a module each (``views_transcript``: transcript, chat, events, re-transcribe;
``views_audio``, ``views_summary``, ``views_export``, ``views_action_items``, ``views_notes``,
``views_sharing``; ``views_search``), which import :class:`ApiView`, :func:`meeting_or_404` and
the output serializers shared with the meeting's detail from here.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import renderers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from meetings.api.pagination import get_paginated_response, limit_offset_page_serializer
from meetings.api.schema import ApiSchema
from meetings.models import ActionItem, Meeting, Summary
from meetings.selectors.access import meeting_get_for_user
from meetings.selectors.api import (
    action_item_list,
    meeting_list_filtered,
    meeting_streams,
    participant_list,
    summary_latest,
)
from meetings.selectors.transcript import transcript_lag_ms, transcription_pending_seconds
from meetings.services import lifecycle


def meeting_or_404(request, public_id) -> Meeting:
    meeting = meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    return meeting


def api_url(name: str, meeting: Meeting) -> str:
    return reverse(f"api:{name}", kwargs={"public_id": meeting.public_id})


class ApiView(APIView):
    """Base of the API views: documents the common error responses, and answers an unknown
    ``?format=`` with 400 listing the formats the view has (DRF's own answer is a bare 404).

    The check runs after authentication (no credentials stays 401); a view that looks a
    meeting up first sets ``format_checked_in_view`` and calls :meth:`check_format` after the
    lookup, so a stranger still gets 404 whatever the format.
    """

    schema = ApiSchema()
    format_checked_in_view = False
    unknown_format: str | None = None

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF: no renderer for ?format=<value>
            self.unknown_format = request.query_params.get(self.settings.URL_FORMAT_OVERRIDE or "format", "")
            renderer = renderers.JSONRenderer()
            return renderer, renderer.media_type

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not self.format_checked_in_view:
            self.check_format()

    def check_format(self) -> None:
        """Raise ``ValidationError`` (400) naming the formats when ``?format=`` matched none."""
        if self.unknown_format is None:
            return
        formats = [renderer.format for renderer in self.get_renderers()]
        raise serializers.ValidationError(
            {"format": [f"Unknown format {self.unknown_format[:40]!r}; use one of: {', '.join(formats)}."]}
        )


class MeetingListApi(ApiView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Meeting.Status.choices, required=False)
        started_after = serializers.DateTimeField(required=False, help_text="Started at or after (ISO 8601).")
        started_before = serializers.DateTimeField(
            required=False, help_text="Started at or before (ISO 8601)."
        )
        search = serializers.CharField(
            required=False, max_length=200, help_text="In the topic or meeting number."
        )

    class OutputSerializer(serializers.ModelSerializer):
        id = serializers.UUIDField(source="public_id")
        url = serializers.SerializerMethodField()

        class Meta:
            model = Meeting
            fields = ("id", "url", "topic", "product", "zoom_meeting_id", "status", "started_at", "ended_at")
            ref_name = "MeetingListItem"

        def get_url(self, meeting: Meeting) -> str:
            return api_url("meeting-detail", meeting)

    @extend_schema(
        operation_id="meetings_list",
        parameters=[FilterSerializer, OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses=limit_offset_page_serializer("MeetingPage", OutputSerializer),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        meetings = meeting_list_filtered(user=request.user, **filters.validated_data)
        return get_paginated_response(
            serializer_class=self.OutputSerializer, queryset=meetings, request=request, view=self
        )


class ParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    zoom_user_id = serializers.CharField()
    display_name = serializers.CharField(help_text="The name Zoom sent (never changed by a rename).")
    custom_name = serializers.CharField(help_text="The name given on the page; empty: Zoom's is shown.")
    name = serializers.CharField(source="shown_name", help_text="The name shown everywhere.")
    first_joined_at = serializers.DateTimeField(allow_null=True)
    last_left_at = serializers.DateTimeField(allow_null=True)
    is_present = serializers.BooleanField()


class ItemOutput(serializers.Serializer):
    text = serializers.CharField()
    segment_ids = serializers.ListField(child=serializers.IntegerField())


class ActionItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    status = serializers.ChoiceField(choices=ActionItem.Status.choices)
    completed_at = serializers.DateTimeField(allow_null=True)
    owner_name = serializers.CharField(
        source="owner_label", help_text="Who it is for: the assigned user, the participant, or the name said."
    )
    owner_participant_id = serializers.IntegerField(source="owner_id", allow_null=True)
    assignee_id = serializers.IntegerField(
        allow_null=True, help_text="A user of the product it is assigned to."
    )
    owner_kind = serializers.CharField(
        help_text="How the summarizer found the owner: speaker | addressee | third_party | group | unknown; "
        "'' when a person set the owner."
    )
    due_date = serializers.DateField(allow_null=True, help_text="Absolute due date (ISO 8601), when known.")
    due_text = serializers.CharField(
        help_text="The due date as said ('by Friday'); cleared when a person re-dates."
    )
    source_segment_id = serializers.IntegerField(allow_null=True)
    edited_at = serializers.DateTimeField(
        allow_null=True, help_text="When a person last changed it; such items survive re-summaries."
    )


class SummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Summary.Kind.choices)
    status = serializers.ChoiceField(choices=Summary.Status.choices)
    backend = serializers.CharField()
    model = serializers.CharField()
    overview = serializers.CharField()
    key_points = ItemOutput(many=True)
    decisions = ItemOutput(many=True)
    topics = ItemOutput(many=True)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class MeetingDetailApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="meeting.public_id")
        topic = serializers.CharField(source="meeting.topic")
        product = serializers.CharField(source="meeting.product")
        zoom_meeting_id = serializers.CharField(source="meeting.zoom_meeting_id")
        status = serializers.CharField(source="meeting.status")
        transcript_mode = serializers.CharField(source="meeting.transcript_mode")
        started_at = serializers.DateTimeField(source="meeting.started_at")
        ended_at = serializers.DateTimeField(source="meeting.ended_at", allow_null=True)
        last_seq = serializers.IntegerField(source="meeting.last_seq")
        transcription_pending_seconds = serializers.IntegerField(
            help_text="Seconds of audio still being transcribed by Whisper (live windows, a "
            "re-transcription), rounded up; 0 when the transcript is complete. An ended meeting's "
            "final summary waits for them."
        )
        transcript_lag_seconds = serializers.FloatField(
            help_text="How far behind the live Whisper transcript is: now minus the end of the "
            "oldest audio not transcribed yet, in seconds (0 when caught up). The meeting page shows "
            "it from 5 s on."
        )
        participants = ParticipantOutput(many=True)
        streams = inline_serializer(
            "StreamOutput",
            many=True,
            fields={
                "rtms_stream_id": serializers.CharField(),
                "state": serializers.CharField(),
                "stop_reason": serializers.IntegerField(
                    allow_null=True, help_text="RTMS_STOP_REASON (null while the stream is open)."
                ),
                "stop_detail": serializers.CharField(),
                "connected_at": serializers.DateTimeField(allow_null=True),
                "stopped_at": serializers.DateTimeField(allow_null=True),
                "reconnect_count": serializers.IntegerField(
                    help_text="Successful reconnections: by the RTMS client itself and worker takeovers."
                ),
                "retry_attempt": serializers.IntegerField(
                    help_text="While state is `retrying`: the number of the next reconnection attempt."
                ),
                "retry_error": serializers.CharField(help_text="The last reconnection error."),
                "retry_next_at": serializers.DateTimeField(
                    allow_null=True, help_text="When the next reconnection attempt starts."
                ),
                "retry_deadline_at": serializers.DateTimeField(
                    allow_null=True, help_text="When Zoom's reconnect window ends (the stream then fails)."
                ),
                "has_zoom_transcript": serializers.BooleanField(),
            },
        )
        summary = SummaryOutput(allow_null=True)
        action_items = ActionItemOutput(many=True)
        links = serializers.DictField(child=serializers.CharField())

        class Meta:
            ref_name = "MeetingDetail"

    @extend_schema(operation_id="meetings_retrieve", responses=OutputSerializer)
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        summary = summary_latest(meeting=meeting)
        data = {
            "meeting": meeting,
            "transcription_pending_seconds": transcription_pending_seconds(meeting=meeting),
            "transcript_lag_seconds": round(transcript_lag_ms(meeting=meeting) / 1000, 1),
            "participants": participant_list(meeting=meeting),
            "streams": meeting_streams(meeting=meeting),
            "summary": summary,
            "action_items": action_item_list(summary=summary),
            "links": {
                name: api_url(f"meeting-{name}", meeting)
                for name in ("transcript", "chat", "events", "audio", "export", "summary")
            }
            | {"page": meeting.get_absolute_url()},
        }
        return Response(self.OutputSerializer(data).data)

    @extend_schema(
        operation_id="meetings_destroy",
        responses={
            204: None,
            409: OpenApiResponse(description="The meeting is live: delete it once it has ended"),
        },
    )
    def delete(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        try:
            lifecycle.meeting_delete(meeting=meeting)
        except lifecycle.MeetingLive:
            return Response(
                {"detail": "The meeting is live; delete it once it has ended."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptedOutput(serializers.Serializer):
    status = serializers.CharField()
    status_url = serializers.CharField()
    summary_id = serializers.IntegerField(required=False)
    task = serializers.CharField(required=False)
