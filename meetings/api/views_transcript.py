"""REST API: a meeting's rows in ``seq`` order (transcript, chat, participant events) and the
request to re-transcribe it with Whisper.

Each list is one keyset page of the rows with ``seq > after_seq`` (:class:`SeqPageApi`,
``meetings.api.pagination``); a client polls with ``next_after_seq`` while the meeting is live,
and a revised row comes back with its new ``seq``. Access as every meeting endpoint: a
stranger gets 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from meetings.api.pagination import SeqQuery, seq_page_response, seq_page_serializer
from meetings.api.views import AcceptedOutput, ApiView, api_url, meeting_or_404
from meetings.models import Meeting, ParticipantEvent, TranscriptSegment
from meetings.selectors.api import chat_list_after, event_list_after, segment_list_after
from meetings.services import lifecycle


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
        status_url = api_url("meeting-transcript", meeting) + "?source=whisper"
        body = {"status": "queued", "task": task, "status_url": status_url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": status_url})
