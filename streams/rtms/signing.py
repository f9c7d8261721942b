"""HMAC helpers for Zoom webhooks and RTMS handshakes. Pure: no Django, no I/O.

Sources: PROTOCOL.md §2.3 (URL validation), §2.4 (webhook signature), §3 (handshake signature).
"""

from __future__ import annotations

import hashlib
import hmac

WEBHOOK_SIGNATURE_VERSION = "v0"


def handshake_signature(*, client_id: str, client_secret: str, instance_id: str, rtms_stream_id: str) -> str:
    """Lowercase hex HMAC-SHA256(client_secret, "client_id,instance_id,rtms_stream_id").

    ``instance_id`` is the ``meeting_uuid`` (meetings, webinars) or ``session_id`` (Video SDK),
    used verbatim (it may contain ``/+=``). Sent in SIGNALING_HAND_SHAKE_REQ and every
    DATA_HAND_SHAKE_REQ (PROTOCOL.md §3).
    """
    message = f"{client_id},{instance_id},{rtms_stream_id}".encode()
    return hmac.new(client_secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature(*, secret_token: str, timestamp: str, body: bytes) -> str:
    """``x-zm-signature`` value: "v0=" + hex HMAC-SHA256(secret, "v0:{timestamp}:{raw body}").

    ``timestamp`` is the ``x-zm-request-timestamp`` header (Unix seconds, as a string); ``body`` the
    exact raw bytes sent: re-serialised JSON does not verify (PROTOCOL.md §2.4).
    """
    message = b"%s:%s:%s" % (WEBHOOK_SIGNATURE_VERSION.encode(), timestamp.encode(), body)
    digest = hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()
    return f"{WEBHOOK_SIGNATURE_VERSION}={digest}"


def webhook_signature_is_valid(*, secret_token: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time check of ``x-zm-signature``; False for an empty secret (fail closed)."""
    if not secret_token or not signature:
        return False
    expected = webhook_signature(secret_token=secret_token, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected.encode(), signature.encode())


def url_validation_token(*, secret_token: str, plain_token: str) -> str:
    """``encryptedToken`` answering ``endpoint.url_validation``: 64 lowercase hex chars (§2.3)."""
    return hmac.new(secret_token.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
