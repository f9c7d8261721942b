"""REST API views: one APIView per operation, nested Input/Output serializers (HackSoft style).

Each view parses input, looks the meeting up through ``selectors.meeting_get_for_user``
(another user's meeting is a 404, never a 403, so ids are not confirmed), calls one selector or
service and responds. Authentication: ``Authorization: Token <key>`` or the dashboard session.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import renderers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from meetings import exports, lifecycle, search, selectors, selectors_api
from meetings.api.pagination import (
    SeqQuery,
    get_paginated_response,
    limit_offset_page_serializer,
    seq_page_response,
    seq_page_serializer,
)
from meetings.api.schema import ApiSchema
from meetings.models import Meeting, ParticipantEvent, Summary, TranscriptSegment
from meetings.summaries import summary_request


def meeting_or_404(request, public_id) -> Meeting:
    meeting = selectors.meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    return meeting


def _api_url(name: str, meeting: Meeting) -> str:
    return reverse(f"api:{name}", kwargs={"public_id": meeting.public_id})


class ApiView(APIView):
    """Base of the API views: documents the common error responses."""

    schema = ApiSchema()


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
            return _api_url("meeting-detail", meeting)

    @extend_schema(
        operation_id="meetings_list",
        parameters=[FilterSerializer, OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses=limit_offset_page_serializer("MeetingPage", OutputSerializer),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        meetings = selectors_api.meeting_list_filtered(user=request.user, **filters.validated_data)
        return get_paginated_response(
            serializer_class=self.OutputSerializer, queryset=meetings, request=request, view=self
        )


class ParticipantOutput(serializers.Serializer):
    id = serializers.IntegerField()
    zoom_user_id = serializers.CharField()
    display_name = serializers.CharField()
    first_joined_at = serializers.DateTimeField(allow_null=True)
    last_left_at = serializers.DateTimeField(allow_null=True)
    is_present = serializers.BooleanField()


class ItemOutput(serializers.Serializer):
    text = serializers.CharField()
    segment_ids = serializers.ListField(child=serializers.IntegerField())


class ActionItemOutput(serializers.Serializer):
    text = serializers.CharField()
    owner_name = serializers.CharField()
    owner_participant_id = serializers.IntegerField(source="owner_id", allow_null=True)
    owner_kind = serializers.CharField(help_text="speaker | addressee | third_party | group | unknown | ''")
    due_date = serializers.DateField(allow_null=True)
    due_text = serializers.CharField()
    source_segment_id = serializers.IntegerField(allow_null=True)


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
        summary = selectors_api.summary_latest(meeting=meeting)
        data = {
            "meeting": meeting,
            "transcription_pending_seconds": selectors.transcription_pending_seconds(meeting=meeting),
            "transcript_lag_seconds": round(selectors.transcript_lag_ms(meeting=meeting) / 1000, 1),
            "participants": selectors_api.participant_list(meeting=meeting),
            "streams": selectors_api.meeting_streams(meeting=meeting),
            "summary": summary,
            "action_items": selectors_api.action_item_list(summary=summary),
            "links": {
                name: _api_url(f"meeting-{name}", meeting)
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


class SeqPageApi(ApiView):
    """GET one keyset page of a meeting's rows with ``seq > after_seq`` (see ``pagination``).

    Subclasses set ``InputSerializer`` (a :class:`SeqQuery`), ``OutputSerializer`` and
    :meth:`rows`; their OpenAPI operation is declared with ``extend_schema_view``.
    """

    InputSerializer: type[SeqQuery] = SeqQuery
    OutputSerializer: type[serializers.Serializer]

    def rows(self, *, meeting: Meeting, params: dict, limit: int) -> list:
        """At most ``limit`` rows with ``seq > params["after_seq"]``, in seq order."""
        raise NotImplementedError

    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return seq_page_response(
            rows=self.rows(meeting=meeting, params=params, limit=params["limit"] + 1),
            limit=params["limit"],
            after_seq=params["after_seq"],
            meeting_last_seq=meeting.last_seq,
            serializer_class=self.OutputSerializer,
        )


class TranscriptQuery(SeqQuery):
    source = serializers.ChoiceField(choices=TranscriptSegment.Source.choices, required=False)


class TranscriptSegmentOutput(serializers.ModelSerializer):
    class Meta:
        model = TranscriptSegment
        fields = (
            "id",
            "seq",
            "source",
            "participant_id",
            "speaker_name",
            "start_ms",
            "end_ms",
            "text",
            "language",
            "is_final",
            "updated_at",
        )
        ref_name = "TranscriptSegment"


@extend_schema_view(
    get=extend_schema(
        operation_id="meetings_transcript",
        parameters=[TranscriptQuery],
        responses=seq_page_serializer("TranscriptPage", TranscriptSegmentOutput),
        description="Segments with seq > after_seq in seq order. A revised segment comes back with "
        "its new seq. Poll with next_after_seq while the meeting is live.",
    )
)
class MeetingTranscriptApi(SeqPageApi):
    InputSerializer = TranscriptQuery
    OutputSerializer = TranscriptSegmentOutput

    def rows(self, *, meeting, params, limit):
        return selectors_api.segment_list_after(
            meeting=meeting, after_seq=params["after_seq"], source=params.get("source"), limit=limit
        )


class ChatMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    participant_id = serializers.IntegerField(allow_null=True)
    sender_name = serializers.CharField()
    recipient_name = serializers.CharField(help_text="Empty: sent to everyone.")
    offset_ms = serializers.IntegerField()
    sent_at = serializers.DateTimeField()
    text = serializers.CharField()
    is_deleted = serializers.BooleanField()

    class Meta:
        ref_name = "ChatMessage"


@extend_schema_view(
    get=extend_schema(
        operation_id="meetings_chat",
        parameters=[SeqQuery],
        responses=seq_page_serializer("ChatPage", ChatMessageOutput),
        description="Chat messages with seq > after_seq in seq order. Poll with next_after_seq "
        "while the meeting is live.",
    )
)
class MeetingChatApi(SeqPageApi):
    OutputSerializer = ChatMessageOutput

    def rows(self, *, meeting, params, limit):
        return selectors_api.chat_list_after(meeting=meeting, after_seq=params["after_seq"], limit=limit)


class ParticipantEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ParticipantEvent.Kind.choices)
    participant_id = serializers.IntegerField(allow_null=True)
    participant_name = serializers.CharField(source="participant.display_name", default="")
    offset_ms = serializers.IntegerField()
    end_offset_ms = serializers.IntegerField(allow_null=True)
    occurred_at = serializers.DateTimeField()
    reason = serializers.CharField()
    details = serializers.DictField()

    class Meta:
        ref_name = "ParticipantEvent"


@extend_schema_view(
    get=extend_schema(
        operation_id="meetings_events",
        parameters=[SeqQuery],
        responses=seq_page_serializer("EventPage", ParticipantEventOutput),
        description="Participant and stream events (join, leave, active speaker, sharing, pauses, "
        "interruptions) with seq > after_seq in seq order. Poll with next_after_seq while the "
        "meeting is live.",
    )
)
class MeetingEventsApi(SeqPageApi):
    OutputSerializer = ParticipantEventOutput

    def rows(self, *, meeting, params, limit):
        return selectors_api.event_list_after(meeting=meeting, after_seq=params["after_seq"], limit=limit)


class WavRenderer(renderers.BaseRenderer):
    """Lets clients send ``Accept: audio/wav``; the body is a FileResponse, never rendered."""

    media_type = "audio/wav"
    format = "wav"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b""


class MeetingAudioApi(ApiView):
    renderer_classes = [renderers.JSONRenderer, WavRenderer]

    class InputSerializer(serializers.Serializer):
        participant = serializers.CharField(
            required=False, max_length=64, help_text="A Zoom user_id or participant id: that track."
        )

    @extend_schema(
        operation_id="meetings_audio",
        parameters=[InputSerializer],
        responses={
            (200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="PCM s16le WAV"),
            404: OpenApiResponse(description="No such meeting or recording"),
        },
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        recording = selectors_api.recording_get(
            meeting=meeting, participant=query.validated_data.get("participant")
        )
        path = lifecycle.media_path(recording.path) if recording else None
        if path is None or not path.is_file():
            raise Http404("No recording")
        filename = f"meeting-{meeting.public_id}-{Path(recording.path).name}"
        return FileResponse(path.open("rb"), content_type="audio/wav", as_attachment=True, filename=filename)


class MeetingSummaryApi(ApiView):
    @extend_schema(operation_id="meetings_summary", responses={200: SummaryOutput, 404: None})
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        summary = selectors_api.summary_latest(meeting=meeting)
        if summary is None:
            raise Http404("No summary yet")
        return Response(SummaryOutput(summary).data)


class AcceptedOutput(serializers.Serializer):
    status = serializers.CharField()
    status_url = serializers.CharField()
    summary_id = serializers.IntegerField(required=False)
    task = serializers.CharField(required=False)


class MeetingSummarizeApi(ApiView):
    @extend_schema(operation_id="meetings_summarize", request=None, responses={202: AcceptedOutput})
    def post(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        summary = summary_request(meeting=meeting)
        status_url = _api_url("meeting-summary", meeting)
        body = {"status": summary.status, "summary_id": summary.pk, "status_url": status_url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": status_url})


class MeetingRetranscribeApi(ApiView):
    @extend_schema(
        operation_id="meetings_retranscribe",
        request=None,
        responses={202: AcceptedOutput, 503: OpenApiResponse(description="Transcription is not available")},
        description="Re-transcribe the meeting's recordings with Whisper; the new segments appear "
        "in the transcript with source=whisper.",
    )
    def post(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        try:
            task = lifecycle.recording_retranscribe_request(meeting=meeting)
        except lifecycle.TaskUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        status_url = _api_url("meeting-transcript", meeting) + "?source=whisper"
        body = {"status": "queued", "task": task, "status_url": status_url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": status_url})


class ExportRenderer(renderers.BaseRenderer):
    """Renders a :class:`exports.MeetingExport` dict in this renderer's ``format``; errors as text."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return renderers.JSONRenderer().render(data)
        return exports.render(data, self.format).encode("utf-8")


def _export_renderer(fmt: str, media_type: str) -> type[ExportRenderer]:
    return type(f"Export{fmt.title()}Renderer", (ExportRenderer,), {"format": fmt, "media_type": media_type})


EXPORT_RENDERERS = [
    _export_renderer("md", "text/markdown"),
    _export_renderer("txt", "text/plain"),
    _export_renderer("json", "application/json"),
    _export_renderer("vtt", "text/vtt"),
    _export_renderer("srt", "application/x-subrip"),
]


def openapi_30(schema):
    """A JSON Schema 2020-12 document as an OpenAPI 3.0 schema (``nullable`` instead of null types)."""
    if isinstance(schema, list):
        return [openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: openapi_30(v) for k, v in schema.items() if k not in ("$schema", "title")}
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        out["type"] = types[0]
        out["nullable"] = True
    if "oneOf" in out and {"type": "null"} in out["oneOf"]:
        rest = [item for item in out.pop("oneOf") if item != {"type": "null"}]
        out.update(rest[0])
        out["nullable"] = True
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


class MeetingExportApi(ApiView):
    renderer_classes = EXPORT_RENDERERS

    class InputSerializer(serializers.Serializer):
        source = serializers.ChoiceField(
            choices=TranscriptSegment.Source.choices,
            required=False,
            help_text="Transcript to export (default: the meeting's transcript mode; Zoom's if any).",
        )

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON whatever format was asked for.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="meetings_export",
        parameters=[
            OpenApiParameter(
                "format", str, enum=list(exports.EXPORT_FORMATS), description="Export format (default md)."
            ),
            InputSerializer,
        ],
        responses={(200, r.media_type): OpenApiTypes.STR for r in EXPORT_RENDERERS if r.format != "json"}
        | {(200, "application/json"): openapi_30(exports.EXPORT_JSON_SCHEMA)}
        | {(404, "application/json"): OpenApiResponse(description="No such meeting")},
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = selectors_api.meeting_export_data(meeting=meeting, source=query.validated_data.get("source"))
        fmt = request.accepted_renderer.format
        stem = re.sub(r"[^A-Za-z0-9]+", "-", meeting.topic).strip("-")[:60] or "meeting"
        filename = f"{stem}-{meeting.started_at:%Y-%m-%d}.{fmt}"
        return Response(data, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class SearchApi(ApiView):
    class InputSerializer(serializers.Serializer):
        q = serializers.CharField(max_length=200, help_text="Words to find (all must match).")
        kind = serializers.MultipleChoiceField(choices=search.KINDS, required=False)

    class OutputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=search.KINDS)
        meeting_id = serializers.UUIDField()
        meeting_topic = serializers.CharField()
        meeting_started_at = serializers.DateTimeField()
        object_id = serializers.IntegerField()
        offset_ms = serializers.IntegerField(allow_null=True)
        speaker = serializers.CharField()
        snippet = serializers.CharField(help_text="HTML: escaped text, matches in <mark>.")
        rank = serializers.FloatField()
        url = serializers.CharField(help_text="The moment in the meeting page.")

        class Meta:
            ref_name = "SearchHit"

    @extend_schema(
        operation_id="search",
        parameters=[InputSerializer, OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses=limit_offset_page_serializer("SearchPage", OutputSerializer),
    )
    def get(self, request):
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        kinds = tuple(sorted(query.validated_data.get("kind") or search.KINDS))
        hits = search.search(user=request.user, query=query.validated_data["q"], kinds=kinds, limit=500)
        return get_paginated_response(
            serializer_class=self.OutputSerializer, queryset=hits, request=request, view=self
        )
