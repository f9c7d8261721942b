"""REST API: sharing a meeting (issue 20). Only the owner (or staff) manages it.

* ``GET /api/meetings/<id>/sharing/``: the users it is shared with and its share links;
* ``POST .../sharing/users/`` ``{"user": "<username or e-mail>"}`` grants access (201);
  ``DELETE .../sharing/users/?user_id=<id>`` revokes it (204);
* ``POST .../sharing/links/`` ``{"days": 7}`` creates a read-only link to the notes (201, with
  its ``url``, which works logged out); ``DELETE .../sharing/links/?id=<id>`` revokes it (200,
  the link with ``revoked_at`` set: it then answers 404).

A stranger gets 404 (as everywhere); a user the meeting is shared with gets 403 (they may read
it, not share it).
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from meetings import share_links
from meetings.api.views import ApiView, meeting_or_404
from meetings.selectors.sharing import meeting_can_share, share_link_list, share_user_list
from meetings.services.sharing import (
    SHARE_LINK_DEFAULT_DAYS,
    SHARE_LINK_MAX_DAYS,
    SharingError,
    meeting_share_grant,
    meeting_share_revoke,
    share_link_create,
    share_link_revoke,
)

NOT_OWNER = OpenApiResponse(description="The meeting is shared with you: only its owner can share it.")
BAD_QUERY = OpenApiResponse(description="Missing or invalid id.")


def meeting_to_share_or_404(request, public_id):
    meeting = meeting_or_404(request, public_id)
    if not meeting_can_share(user=request.user, meeting=meeting):
        raise PermissionDenied("Only the meeting's owner can share it.")
    return meeting


def share_link_url(request, link) -> str:
    """The absolute URL of a share link's read-only notes page."""
    token = share_links.token_for(key=link.key, created_at=link.created_at)
    return request.build_absolute_uri(reverse("meetings:shared-notes", kwargs={"token": token}))


class SharedUserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class ShareLinkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="The read-only notes page; works logged out.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()

    def get_url(self, link) -> str:
        return share_link_url(self.context["request"], link)


class MeetingSharingApi(ApiView):
    class OutputSerializer(serializers.Serializer):
        users = SharedUserOutput(many=True)
        links = ShareLinkOutput(many=True)

        class Meta:
            ref_name = "MeetingSharing"

    @extend_schema(operation_id="meetings_sharing", responses={200: OutputSerializer, 403: NOT_OWNER})
    def get(self, request, public_id):
        meeting = meeting_to_share_or_404(request, public_id)
        data = {
            "users": share_user_list(meeting=meeting),
            "links": share_link_list(meeting=meeting),
        }
        return Response(self.OutputSerializer(data, context={"request": request}).data)


class MeetingSharingUsersApi(ApiView):
    class InputSerializer(serializers.Serializer):
        user = serializers.CharField(max_length=254, help_text="A username or an e-mail address.")

        class Meta:
            ref_name = "ShareUserInput"

    class DeleteSerializer(serializers.Serializer):
        user_id = serializers.IntegerField(min_value=1)

    @extend_schema(
        operation_id="meetings_sharing_users_add",
        request=InputSerializer,
        responses={201: SharedUserOutput, 403: NOT_OWNER},
    )
    def post(self, request, public_id):
        meeting = meeting_to_share_or_404(request, public_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            user = meeting_share_grant(meeting=meeting, identifier=body.validated_data["user"])
        except SharingError as exc:
            raise ValidationError({"user": [str(exc)]}) from exc
        return Response(SharedUserOutput(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="meetings_sharing_users_remove",
        parameters=[OpenApiParameter("user_id", int, required=True)],
        responses={204: None, 400: BAD_QUERY, 403: NOT_OWNER},
    )
    def delete(self, request, public_id):
        meeting = meeting_to_share_or_404(request, public_id)
        query = self.DeleteSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if not meeting_share_revoke(meeting=meeting, user_id=query.validated_data["user_id"]):
            raise Http404("The meeting is not shared with this user")
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeetingShareLinksApi(ApiView):
    class InputSerializer(serializers.Serializer):
        days = serializers.IntegerField(
            min_value=1,
            max_value=SHARE_LINK_MAX_DAYS,
            default=SHARE_LINK_DEFAULT_DAYS,
            help_text="How long the link works.",
        )

        class Meta:
            ref_name = "ShareLinkInput"

    class DeleteSerializer(serializers.Serializer):
        id = serializers.IntegerField(min_value=1)

    @extend_schema(
        operation_id="meetings_share_links_create",
        request=InputSerializer,
        responses={201: ShareLinkOutput, 403: NOT_OWNER},
    )
    def post(self, request, public_id):
        meeting = meeting_to_share_or_404(request, public_id)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        link = share_link_create(meeting=meeting, created_by=request.user, days=body.validated_data["days"])
        data = ShareLinkOutput(link, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})

    @extend_schema(
        operation_id="meetings_share_links_revoke",
        parameters=[OpenApiParameter("id", int, required=True)],
        responses={200: ShareLinkOutput, 400: BAD_QUERY, 403: NOT_OWNER},
    )
    def delete(self, request, public_id):
        meeting = meeting_to_share_or_404(request, public_id)
        query = self.DeleteSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        link = share_link_revoke(meeting=meeting, link_id=query.validated_data["id"])
        if link is None:
            raise Http404("No such share link")
        return Response(ShareLinkOutput(link, context={"request": request}).data)
