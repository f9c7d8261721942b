"""Pagination helpers for the API views (HackSoft style: APIView + explicit paginate call).

* :func:`get_paginated_response`: limit/offset pages (``count``, ``next``, ``previous``,
  ``results``) for lists ordered by something stable (meetings, search hits);
* :class:`SeqPage`: keyset pages over a meeting's change number ``seq`` for the incremental
  endpoints (transcript, chat, events): ``?after_seq=N&limit=L`` returns rows with
  ``seq > N`` in seq order plus ``next_after_seq``, the value to send next time. Rows written
  while a client pages are never skipped (an offset would shift under them).
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

MAX_LIMIT = 1000


class LimitOffset(LimitOffsetPagination):
    max_limit = MAX_LIMIT


def get_paginated_response(*, serializer_class, queryset, request, view) -> Response:
    paginator = LimitOffset()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class SeqQuery(serializers.Serializer):
    after_seq = serializers.IntegerField(
        required=False, default=0, min_value=0, help_text="Return rows with seq greater than this."
    )
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=MAX_LIMIT)


def seq_page_response(
    *, rows: list, limit: int, after_seq: int, meeting_last_seq: int, serializer_class
) -> Response:
    """``rows`` were fetched with ``limit + 1`` to know whether more follow."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Response(
        {
            "results": serializer_class(rows, many=True).data,
            "next_after_seq": rows[-1].seq if rows else after_seq,
            "has_more": has_more,
            "meeting_last_seq": meeting_last_seq,
        }
    )


def seq_page_serializer(name: str, item_serializer) -> type[serializers.Serializer]:
    """The documented shape of a :func:`seq_page_response` (for drf-spectacular)."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item_serializer(many=True),
            "next_after_seq": serializers.IntegerField(help_text="Send as after_seq on the next call."),
            "has_more": serializers.BooleanField(help_text="More rows are ready now: call again at once."),
            "meeting_last_seq": serializers.IntegerField(help_text="The meeting's latest change number."),
        },
    )


def limit_offset_page_serializer(name: str, item_serializer) -> type[serializers.Serializer]:
    """The documented shape of a :func:`get_paginated_response` page (for drf-spectacular)."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )
