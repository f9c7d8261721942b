"""REST API: a meeting's recordings as WAV, and where to play a transcript line from (issue 20).

``GET /api/meetings/<id>/audio/`` serves the mixed recording (default), one participant's track
or one recording by id, with HTTP Range support (``meetings/ranges.py``) so players can seek.
``GET /api/meetings/<id>/audio/cue/?segment=<segment id>`` answers which recording holds the
line and the offset to seek to (click-to-play). Access as every meeting endpoint: a stranger
gets 404.
"""

from __future__ import annotations

from pathlib import Path

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.response import Response

from meetings.api.views import ApiView, api_url, meeting_or_404
from meetings.ranges import ranged_file_response
from meetings.selectors.api import recording_get
from meetings.selectors.recordings import playback_cue
from meetings.services import lifecycle


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


class MeetingAudioCueApi(ApiView):
    class InputSerializer(serializers.Serializer):
        segment = serializers.IntegerField(min_value=1, help_text="A transcript segment id of the meeting.")

    class OutputSerializer(serializers.Serializer):
        segment_id = serializers.IntegerField()
        recording_id = serializers.IntegerField()
        kind = serializers.CharField(help_text="mixed (everyone) | participant (the speaker's own track)")
        participant_id = serializers.IntegerField(allow_null=True)
        url = serializers.CharField(help_text="The WAV (Range requests supported).")
        offset_ms = serializers.IntegerField(help_text="Seek here: line start − recording start, ms.")
        duration_ms = serializers.IntegerField(help_text="The recording's length, ms.")

        class Meta:
            ref_name = "AudioCue"

    @extend_schema(
        operation_id="meetings_audio_cue",
        parameters=[InputSerializer],
        responses={200: OutputSerializer},
        description="The recording to play a transcript line from and the offset of the line's start "
        "in it: the mixed recording when it covers the line, else (live meetings: the mix is built "
        "when the stream ends) the speaker's own track. 404 when no recording covers the line.",
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        segment_id = query.validated_data["segment"]
        cue = playback_cue(meeting=meeting, segment_id=segment_id)
        if cue is None:
            raise Http404("No recording for this line")
        recording = cue.recording
        body = {
            "segment_id": segment_id,
            "recording_id": recording.pk,
            "kind": recording.kind,
            "participant_id": recording.participant_id,
            "url": f"{api_url('meeting-audio', meeting)}?recording={recording.pk}",
            "offset_ms": cue.offset_ms,
            "duration_ms": recording.duration_ms,
        }
        return Response(self.OutputSerializer(body).data)
