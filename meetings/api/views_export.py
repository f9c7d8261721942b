"""REST API: a meeting's notes as a file, in every format of ``meetings.exports.EXPORT_FORMATS``
(one DRF renderer each, so ``?format=`` and ``Accept`` pick it; errors stay JSON)."""

from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.response import Response

from meetings import exports
from meetings.api.views import ApiView, meeting_or_404
from meetings.models import TranscriptSegment
from meetings.selectors.notes import meeting_export_data


class ExportRenderer(renderers.BaseRenderer):
    """Renders a :class:`exports.MeetingExport` dict in this renderer's ``format``; errors as text."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return renderers.JSONRenderer().render(data)
        return exports.render(data, self.format).encode("utf-8")


def _export_renderer(export_format: exports.ExportFormat) -> type[ExportRenderer]:
    return type(
        f"Export{export_format.name.title()}Renderer",
        (ExportRenderer,),
        {"format": export_format.name, "media_type": export_format.media_type},
    )


# One DRF renderer per entry of ``exports.EXPORT_FORMATS`` (the first is the default).
EXPORT_RENDERERS = [_export_renderer(export_format) for export_format in exports.EXPORT_FORMATS.values()]


def openapi_30(schema):
    """A JSON Schema 2020-12 document as an OpenAPI 3.0 schema (``nullable`` instead of null types)."""
    if isinstance(schema, list):
        return [openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: openapi_30(v) for k, v in schema.items() if k not in ("$schema", "title")}
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        out["type"] = types[0]
        out["nullable"] = True
    if "oneOf" in out and {"type": "null"} in out["oneOf"]:
        rest = [item for item in out.pop("oneOf") if item != {"type": "null"}]
        out.update(rest[0])
        out["nullable"] = True
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


class MeetingExportApi(ApiView):
    renderer_classes = EXPORT_RENDERERS
    format_checked_in_view = True  # access first: a stranger gets 404 whatever the format

    class InputSerializer(serializers.Serializer):
        source = serializers.ChoiceField(
            choices=TranscriptSegment.Source.choices,
            required=False,
            help_text="Transcript to export (default: the meeting's transcript mode; Zoom's if any).",
        )

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON whatever format was asked for.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = request.accepted_renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="meetings_export",
        parameters=[
            OpenApiParameter(
                "format", str, enum=list(exports.EXPORT_FORMATS), description="Export format (default md)."
            ),
            InputSerializer,
        ],
        responses={(200, r.media_type): OpenApiTypes.STR for r in EXPORT_RENDERERS if r.format != "json"}
        | {(200, "application/json"): openapi_30(exports.EXPORT_JSON_SCHEMA)}
        | {(404, "application/json"): OpenApiResponse(description="No such meeting")}
        | {
            (400, "application/json"): OpenApiResponse(
                description='Unknown format or source: {"format": ["Unknown format \'docx\'; use one of: '
                + ", ".join(exports.EXPORT_FORMATS)
                + '."]}'
            )
        },
    )
    def get(self, request, public_id):
        meeting = meeting_or_404(request, public_id)
        self.check_format()
        query = self.InputSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = meeting_export_data(meeting=meeting, source=query.validated_data.get("source"))
        extension = exports.EXPORT_FORMATS[request.accepted_renderer.format].extension
        stem = re.sub(r"[^A-Za-z0-9]+", "-", meeting.topic).strip("-")[:60] or "meeting"
        filename = f"{stem}-{meeting.started_at:%Y-%m-%d}.{extension}"
        return Response(data, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
