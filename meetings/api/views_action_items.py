"""REST API: action items people work with (issue 20, part 1): a meeting's current items, one
item changed (ticked, edited, assigned, re-dated; pushed to open pages, kept across
re-summaries), and the caller's own items across meetings."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from meetings.api.views import ActionItemOutput, ApiView, meeting_or_404
from meetings.models import ActionItem
from meetings.selectors.action_items import (
    action_item_get_for_user,
    action_item_list_current,
    action_item_list_for_user,
)


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
