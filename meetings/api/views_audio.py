"""REST API: where to play a transcript line from (issue 20, click-to-play audio).

``GET /api/meetings/<id>/audio/cue/?segment=<segment id>`` answers which recording holds the
line and the offset to seek to; the file itself comes from ``audio/?recording=<id>`` with HTTP
Range support (``meetings/ranges.py``). Access as every meeting endpoint: a stranger gets 404.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from meetings.api.views import ApiView, _api_url, meeting_or_404
from meetings.selectors.recordings import playback_cue


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
            "url": f"{_api_url('meeting-audio', meeting)}?recording={recording.pk}",
            "offset_ms": cue.offset_ms,
            "duration_ms": recording.duration_ms,
        }
        return Response(self.OutputSerializer(body).data)
