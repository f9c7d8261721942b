"""REST API: a meeting's summary (the newest) and the request to make one (202, then poll)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from meetings.api.views import AcceptedOutput, ApiView, SummaryOutput, api_url, meeting_or_404
from meetings.selectors.api import summary_latest
from meetings.services.summaries import summary_request


class MeetingSummaryApi(ApiView):
    @extend_schema(operation_id="meetings_summary", responses={200: SummaryOutput, 404: None})
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        summary = summary_latest(meeting=meeting)
        if summary is None:
            raise Http404("No summary yet")
        return Response(SummaryOutput(summary).data)


class MeetingSummarizeApi(ApiView):
    @extend_schema(operation_id="meetings_summarize", request=None, responses={202: AcceptedOutput})
    def post(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        summary = summary_request(meeting=meeting)
        status_url = api_url("meeting-summary", meeting)
        body = {"status": summary.status, "summary_id": summary.pk, "status_url": status_url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": status_url})
