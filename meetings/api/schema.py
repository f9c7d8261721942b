"""OpenAPI details shared by every API view: the error responses drf-spectacular leaves out."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

ERROR_BODY = {
    "type": "object",
    "additionalProperties": True,
    "description": '{"detail": "..."} or, for invalid input, {"<field>": ["<message>", ...]}',
}


class ApiSchema(AutoSchema):
    """Adds 401 (no or bad token) to every operation, 404 to those with a path id, and 400
    (invalid query or body) to those that read input."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {"401": "Missing or invalid credentials."}
        if "{" in self.path:
            errors["404"] = "No such meeting (or not one you can see), or no such recording."
        if self.method in ("GET", "POST"):
            errors["400"] = "Invalid query parameters."
        for code, description in errors.items():
            responses.setdefault(
                code, {"description": description, "content": {"application/json": {"schema": ERROR_BODY}}}
            )
        return responses

    def _is_list_view(self, serializer=None) -> bool:
        # Views answering per status code / media type (dict responses) return single objects
        # or files; lists are documented as explicit page serializers.
        if serializer is None and isinstance(self.get_response_serializers(), dict):
            return False
        return super()._is_list_view(serializer)
