"""REST API: full-text search over the meetings the caller may see (``meetings.search``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from meetings import search
from meetings.api.pagination import get_paginated_response, limit_offset_page_serializer
from meetings.api.views import ApiView


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
