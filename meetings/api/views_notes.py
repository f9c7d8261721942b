"""REST API for speaker names and bookmarks (issue 20): Input/Output serializers, one service
call each. A meeting the caller cannot see, or a participant/bookmark/line of another meeting,
is a 404 (never a 403), as in ``meetings.api.views``.

* ``GET|PATCH /api/meetings/<id>/participants/<pk>/``: a participant; PATCH
  ``{"custom_name": "Fiona"}`` renames the speaker everywhere (``""`` resets to Zoom's name);
* ``GET|POST /api/meetings/<id>/bookmarks/``: the bookmarks in time order (limit/offset
  pages) / bookmark a line ``{"segment_id": int, "note": str}`` (201; 200 when this user had
  already bookmarked that line);
* ``GET|PATCH|DELETE /api/meetings/<id>/bookmarks/<pk>/``: one bookmark; change its note; delete.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from meetings.api.pagination import get_paginated_response, limit_offset_page_serializer
from meetings.api.views import ApiView, ParticipantOutput, meeting_or_404
from meetings.selectors.bookmarks import bookmark_get, bookmark_list
from meetings.selectors.participants import participant_get
from meetings.selectors.transcript import segment_get
from meetings.services.bookmarks import BOOKMARK_NOTE_MAX, bookmark_create, bookmark_delete, bookmark_update
from meetings.services.participants import SPEAKER_NAME_MAX, participant_rename


class ParticipantDetailApi(ApiView):
    class InputSerializer(serializers.Serializer):
        custom_name = serializers.CharField(
            max_length=SPEAKER_NAME_MAX,
            allow_blank=True,
            trim_whitespace=True,
            help_text="The name to show for this speaker everywhere; empty resets to Zoom's name.",
        )

        class Meta:
            ref_name = "ParticipantRename"

    def _participant(self, request, public_id, participant_id):
        meeting = meeting_or_404(request, public_id)
        participant = participant_get(meeting=meeting, participant_id=participant_id)
        if participant is None:
            raise Http404("No such participant")
        return participant

    @extend_schema(operation_id="meetings_participant_retrieve", responses=ParticipantOutput)
    def get(self, request, public_id, participant_id):
        return Response(ParticipantOutput(self._participant(request, public_id, participant_id)).data)

    @extend_schema(
        operation_id="meetings_participant_rename",
        request=InputSerializer,
        responses=ParticipantOutput,
        description="Rename a speaker: the new name shows on every line, the participants list, the "
        "talk time, the notes, exports and search, live on every open page. Zoom's display_name "
        "is kept.",
    )
    def patch(self, request, public_id, participant_id):
        participant = self._participant(request, public_id, participant_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            participant_rename(participant=participant, name=body.validated_data["custom_name"])
        except ValueError as exc:
            raise serializers.ValidationError({"custom_name": [str(exc)]}) from exc
        return Response(ParticipantOutput(participant).data)


class BookmarkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    segment_id = serializers.IntegerField(allow_null=True, help_text="Null when the line was replaced.")
    start_ms = serializers.IntegerField(
        source="offset_ms", help_text="The line's start, from the meeting start."
    )
    speaker = serializers.SerializerMethodField(help_text="The line's speaker as shown.")
    text = serializers.SerializerMethodField(help_text="The line (empty when it was replaced).")
    note = serializers.CharField()
    created_by = serializers.SerializerMethodField(help_text="Username of the author.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Bookmark"

    def get_speaker(self, bookmark) -> str:
        return bookmark.segment.speaker if bookmark.segment else ""

    def get_text(self, bookmark) -> str:
        return bookmark.segment.text if bookmark.segment else ""

    def get_created_by(self, bookmark) -> str:
        return bookmark.created_by.get_username() if bookmark.created_by else ""


class BookmarkListApi(ApiView):
    class InputSerializer(serializers.Serializer):
        segment_id = serializers.IntegerField(min_value=1, help_text="The transcript line to bookmark.")
        note = serializers.CharField(
            max_length=BOOKMARK_NOTE_MAX, allow_blank=True, required=False, default=""
        )

        class Meta:
            ref_name = "BookmarkCreate"

    @extend_schema(
        operation_id="meetings_bookmarks_list",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses=limit_offset_page_serializer("BookmarkPage", BookmarkOutput),
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        return get_paginated_response(
            serializer_class=BookmarkOutput,
            queryset=bookmark_list(meeting=meeting),
            request=request,
            view=self,
        )

    @extend_schema(
        operation_id="meetings_bookmarks_create",
        request=InputSerializer,
        responses={201: BookmarkOutput, 200: BookmarkOutput},
        description="Bookmark a transcript line (also while the meeting is live). Bookmarking a line "
        "you already bookmarked returns that bookmark (200), with the note replaced if one is given.",
    )
    def post(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        segment = segment_get(meeting=meeting, segment_id=body.validated_data["segment_id"])
        if segment is None:
            raise serializers.ValidationError({"segment_id": ["No such line in this meeting."]})
        try:
            bookmark, created = bookmark_create(
                meeting=meeting, segment=segment, user=request.user, note=body.validated_data["note"]
            )
        except ValueError as exc:
            raise serializers.ValidationError({"note": [str(exc)]}) from exc
        bookmark = bookmark_get(meeting=meeting, bookmark_id=bookmark.pk)
        return Response(
            BookmarkOutput(bookmark).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class BookmarkDetailApi(ApiView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=BOOKMARK_NOTE_MAX, allow_blank=True)

        class Meta:
            ref_name = "BookmarkNote"

    def _bookmark(self, request, public_id, bookmark_id):
        meeting = meeting_or_404(request, public_id)
        bookmark = bookmark_get(meeting=meeting, bookmark_id=bookmark_id)
        if bookmark is None:
            raise Http404("No such bookmark")
        return bookmark

    @extend_schema(operation_id="meetings_bookmark_retrieve", responses=BookmarkOutput)
    def get(self, request, public_id, bookmark_id):
        return Response(BookmarkOutput(self._bookmark(request, public_id, bookmark_id)).data)

    @extend_schema(operation_id="meetings_bookmark_update", request=InputSerializer, responses=BookmarkOutput)
    def patch(self, request, public_id, bookmark_id):
        bookmark = self._bookmark(request, public_id, bookmark_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            bookmark_update(bookmark=bookmark, note=body.validated_data["note"])
        except ValueError as exc:
            raise serializers.ValidationError({"note": [str(exc)]}) from exc
        return Response(BookmarkOutput(bookmark).data)

    @extend_schema(operation_id="meetings_bookmark_delete", responses={204: None})
    def delete(self, request, public_id, bookmark_id):
        bookmark_delete(bookmark=self._bookmark(request, public_id, bookmark_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
