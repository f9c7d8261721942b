"""Zoom webhook endpoint (``POST /webhooks/zoom/``): implemented by the ingestion work."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def zoom_webhook(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=503)
