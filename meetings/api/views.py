"""REST API views: one APIView per operation, nested Input/Output serializers (HackSoft style).

Each view parses input, looks the meeting up through ``meeting_get_for_user``
(another user's meeting is a 404, never a 403, so ids are not confirmed), calls one selector or
service and responds. Authentication: ``Authorization: Token <key>`` (or ``Bearer <key>``, the
same key: ``meetings.api.authentication``) or the dashboard session.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.http import Http404
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

from meetings import exports, search
from meetings.api.pagination import (
    SeqQuery,
    get_paginated_response,
    limit_offset_page_serializer,
    seq_page_response,
    seq_page_serializer,
)
from meetings.api.schema import ApiSchema
from meetings.models import ActionItem, Meeting, ParticipantEvent, Summary, TranscriptSegment
from meetings.ranges import ranged_file_response
from meetings.selectors.access import meeting_get_for_user
from meetings.selectors.action_items import (
    action_item_get_for_user,
    action_item_list_current,
    action_item_list_for_user,
)
from meetings.selectors.api import (
    action_item_list,
    chat_list_after,
    event_list_after,
    meeting_list_filtered,
    meeting_streams,
    participant_list,
    recording_get,
    segment_list_after,
    summary_latest,
)
from meetings.selectors.notes import meeting_export_data
from meetings.selectors.transcript import transcript_lag_ms, transcription_pending_seconds
from meetings.services import lifecycle
from meetings.services.summaries import summary_request


def meeting_or_404(request, public_id) -> Meeting:
    meeting = meeting_get_for_user(user=request.user, public_id=public_id)
    if meeting is None:
        raise Http404("No such meeting")
    return meeting


def _api_url(name: str, meeting: Meeting) -> str:
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
            return _api_url("meeting-detail", meeting)

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
            "speaker",
            "start_ms",
            "end_ms",
            "text",
            "language",
            "is_final",
            "updated_at",
        )
        ref_name = "TranscriptSegment"
        extra_kwargs = {
            "speaker_name": {"help_text": "The name Zoom gave the line."},
        }

    speaker = serializers.CharField(
        read_only=True, help_text="The speaker as shown: a renamed participant's name, else speaker_name."
    )


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
        return segment_list_after(
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
        return chat_list_after(meeting=meeting, after_seq=params["after_seq"], limit=limit)


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
        return event_list_after(meeting=meeting, after_seq=params["after_seq"], limit=limit)


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

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON even when ?format=wav / Accept: audio/wav picked the WAV renderer.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    class InputSerializer(serializers.Serializer):
        participant = serializers.CharField(
            required=False, max_length=64, help_text="A Zoom user_id or participant id: that track."
        )
        recording = serializers.IntegerField(
            required=False, min_value=1, help_text="A recording id (from audio/cue/): that file."
        )

    @extend_schema(
        operation_id="meetings_audio",
        parameters=[
            InputSerializer,
            OpenApiParameter(
                "Range",
                str,
                OpenApiParameter.HEADER,
                description="One byte range (bytes=a-b, bytes=a-, bytes=-n): 206 with that part.",
            ),
        ],
        responses={
            (200, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="PCM s16le WAV"),
            (206, "audio/wav"): OpenApiResponse(OpenApiTypes.BINARY, description="The asked byte range"),
            404: OpenApiResponse(description="No such meeting or recording"),
            416: OpenApiResponse(description="Range not satisfiable (Content-Range: bytes */size)"),
        },
        description="The mixed recording (default), one participant's track or one recording by id, "
        "as WAV. Supports HTTP Range requests (Accept-Ranges: bytes), so players can seek.",
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "recording" in query.validated_data:
            recording = meeting.recordings.filter(pk=query.validated_data["recording"]).first()
        else:
            recording = recording_get(meeting=meeting, participant=query.validated_data.get("participant"))
        path = lifecycle.media_path(recording.path) if recording else None
        if path is None or not path.is_file():
            raise Http404("No recording")
        filename = f"meeting-{meeting.public_id}-{Path(recording.path).name}"
        return ranged_file_response(
            request, path, content_type="audio/wav", as_attachment=True, filename=filename
        )


class MeetingSummaryApi(ApiView):
    @extend_schema(operation_id="meetings_summary", responses={200: SummaryOutput, 404: None})
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        summary = summary_latest(meeting=meeting)
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


def _export_renderer(export_format: exports.ExportFormat) -> type[ExportRenderer]:
    return type(
        f"Export{export_format.name.title()}Renderer",
        (ExportRenderer,),
        {"format": export_format.name, "media_type": export_format.media_type},
    )


# One DRF renderer per entry of ``exports.EXPORT_FORMATS`` (the first is the default).
EXPORT_RENDERERS = [_export_renderer(export_format) for export_format in exports.EXPORT_FORMATS.values()]


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
    format_checked_in_view = True  # access first: a stranger gets 404 whatever the format

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
        | {(404, "application/json"): OpenApiResponse(description="No such meeting")}
        | {
            (400, "application/json"): OpenApiResponse(
                description='Unknown format or source: {"format": ["Unknown format \'docx\'; use one of: '
                + ", ".join(exports.EXPORT_FORMATS)
                + '."]}'
            )
        },
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        self.check_format()
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = meeting_export_data(meeting=meeting, source=query.validated_data.get("source"))
        extension = exports.EXPORT_FORMATS[request.accepted_renderer.format].extension
        stem = re.sub(r"[^A-Za-z0-9]+", "-", meeting.topic).strip("-")[:60] or "meeting"
        filename = f"{stem}-{meeting.started_at:%Y-%m-%d}.{extension}"
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


# --- Action items people work with (issue 20, part 1) -------------------------------------------


class MeetingActionItemListApi(ApiView):
    @extend_schema(
        operation_id="meetings_action_items_list",
        responses=ActionItemOutput(many=True),
        description="The meeting's current action items (of its newest ready summary), in order.",
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        items = action_item_list_current(meeting=meeting)
        return Response(ActionItemOutput(items, many=True).data)


class MeetingActionItemDetailApi(ApiView):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(required=False, max_length=2000, allow_blank=False)
        status = serializers.ChoiceField(choices=ActionItem.Status.choices, required=False)
        owner_participant_id = serializers.IntegerField(
            required=False, allow_null=True, help_text="A participant of the meeting; null: nobody."
        )
        assignee_id = serializers.IntegerField(
            required=False,
            allow_null=True,
            help_text="A user who may see the meeting (owner or shared user); null: nobody.",
        )
        due_date = serializers.DateField(
            required=False, allow_null=True, help_text="YYYY-MM-DD; null clears it."
        )

        def validate(self, attrs):
            if attrs.get("owner_participant_id") and attrs.get("assignee_id"):
                raise serializers.ValidationError("Give owner_participant_id or assignee_id, not both.")
            if not attrs:
                raise serializers.ValidationError("Nothing to change: give at least one field.")
            return attrs

    def _item(self, request, public_id, item_id) -> ActionItem:
        item = action_item_get_for_user(user=request.user, public_id=public_id, item_id=item_id)
        if item is None:
            raise Http404("No such action item")
        return item

    @extend_schema(operation_id="meetings_action_items_retrieve", responses=ActionItemOutput)
    def get(self, request, public_id, item_id):
        return Response(ActionItemOutput(self._item(request, public_id, item_id)).data)

    @extend_schema(
        operation_id="meetings_action_items_partial_update",
        request=InputSerializer,
        responses=ActionItemOutput,
        description="Change an action item (only the fields given): tick (status done/open), edit "
        "the text, assign a participant or a user, re-date. The change is pushed to every open "
        "meeting page and kept across re-summaries.",
    )
    def patch(self, request, public_id, item_id):
        from meetings.services.action_items import ActionItemError, action_item_update

        item = self._item(request, public_id, item_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            item = action_item_update(item=item, user=request.user, **data.validated_data)
        except ActionItemError as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from exc
        return Response(ActionItemOutput(item).data)


class MyActionItemOutput(ActionItemOutput):
    meeting_id = serializers.UUIDField(source="meeting.public_id")
    meeting_title = serializers.CharField(source="meeting.__str__")
    meeting_url = serializers.CharField(source="meeting.get_absolute_url")


class MyActionItemListApi(ApiView):
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=ActionItem.Status.choices, required=False)

    @extend_schema(
        operation_id="action_items_mine",
        parameters=[FilterSerializer],
        responses=MyActionItemOutput(many=True),
        description="Action items assigned to the caller (or said to be theirs via their Zoom user "
        "id) in meetings they may see: open first, then by due date (at most 500).",
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        items = action_item_list_for_user(user=request.user, status=filters.validated_data.get("status", ""))
        return Response(MyActionItemOutput(items, many=True).data)
