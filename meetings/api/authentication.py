"""REST API authentication: DRF's token, sent as ``Token <key>`` or as ``Bearer <key>``.

Many HTTP clients and API tools only offer "Bearer token" authentication (RFC 6750's header
form). The key is the same DRF token either way (``manage.py drf_create_token <user>`` or the
dashboard's "API token" page); nothing else changes: same lookup, same errors (401 with
``WWW-Authenticate: Token`` from the first class in ``REST_FRAMEWORK``).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """``Authorization: Bearer <key>`` with a DRF token key (``rest_framework.authtoken``)."""

    keyword = "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of :class:`BearerTokenAuthentication` (HTTP bearer), beside
    drf-spectacular's ``tokenAuth`` for the ``Token`` form."""

    target_class = "meetings.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )
