"""Signed tokens of read-only share links (``ShareLink``), with Django's ``TimestampSigner``.

A token is ``<key hex>:<timestamp>:<signature>`` (about 80 URL-safe characters): the link's
``key`` signed with ``SECRET_KEY`` under the salt :data:`SALT`, stamped with the link's
``created_at`` instead of "now", so the same row always gives the same token (the owner can copy
an active link again later) and the signature's age is the link's age. Changing ``SECRET_KEY``
invalidates every link.

Verifying a token proves we issued it; whether it still opens the notes is the row's business
(``selectors.share_link_resolve``: not revoked, not expired). :data:`MAX_AGE` caps any token's
age whatever its row says.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core import signing
from django.utils.encoding import force_str

SALT = "meetings.share-link"
MAX_AGE = dt.timedelta(days=366)  # no link outlives this, whatever its expires_at


class _StampedSigner(signing.TimestampSigner):
    """A ``TimestampSigner`` whose timestamp is a given moment (the link's creation)."""

    def __init__(self, *, at: dt.datetime | None = None) -> None:
        super().__init__(salt=SALT)
        self._at = at

    def timestamp(self) -> str:
        if self._at is None:
            return super().timestamp()
        return signing.b62_encode(int(self._at.timestamp()))


def token_for(*, key: uuid.UUID, created_at: dt.datetime) -> str:
    """The token of the link with ``key`` created at ``created_at`` (aware datetime)."""
    return _StampedSigner(at=created_at).sign(key.hex)


def key_from_token(token: str) -> uuid.UUID | None:
    """The link key a genuine, not too old token carries; None for a forged, altered, malformed
    or over-:data:`MAX_AGE` token (never raises)."""
    try:
        value = _StampedSigner().unsign(force_str(token), max_age=MAX_AGE)
        return uuid.UUID(hex=value)
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None
