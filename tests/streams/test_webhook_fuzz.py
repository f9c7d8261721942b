"""Webhook fuzzing (hypothesis): 1,000 bad requests to ``POST /webhooks/zoom/``, all 4xx, nothing written.

Each example is one request through the Django test client, drawn from these families:
malformed bodies (correctly signed), unsigned, wrong signatures (wrong secret, another body,
garbage), stale / future / malformed timestamps, replays of a once-valid request after its
timestamp went stale, oversized bodies (actual or declared), wrong content types, RTMS events
with missing fields, wrong field types, and unknown products or events sent unsigned. Each
family has its exact expected status (400, 401, 413 or 415), and after every request there is
still no ``WebhookEvent``, ``Stream`` or ``Meeting`` row. The hand-written cases, and the valid
ones (200), are in ``tests/streams/test_webhooks.py``.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from meetings.models import Meeting
from streams.models import Stream, WebhookEvent
from streams.rtms.signing import webhook_signature

pytestmark = [pytest.mark.faults, pytest.mark.django_db, pytest.mark.timeout(120)]

SECRET = "test-webhook-secret"  # rtms_assistant.settings_test
URL = "/webhooks/zoom/"
MAX_BODY = 64 * 1024  # settings.ZOOM_WEBHOOK_MAX_BODY_BYTES
PRODUCTS = ("meeting", "webinar", "session")
ACTIONS = ("rtms_started", "rtms_stopped", "rtms_interrupted")

ids = st.text(alphabet="abcdef0123456789", min_size=8, max_size=32)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def valid_envelopes(draw) -> dict:
    """A well-formed RTMS webhook (what Zoom would send): the base the broken ones start from."""
    product = draw(st.sampled_from(PRODUCTS))
    action = draw(st.sampled_from(ACTIONS))
    payload = {"meeting_uuid": draw(ids) + "==", "rtms_stream_id": draw(ids)}
    if product == "session":
        payload["session_id"] = payload.pop("meeting_uuid")
    if action == "rtms_started":
        payload["server_urls"] = f"wss://rtms.zoom.us/{draw(ids)}"
    if action == "rtms_stopped":
        payload["stop_reason"] = draw(st.integers(0, 30))
    return {"event": f"{product}.{action}", "event_ts": draw(st.integers(0, 2**53)), "payload": payload}


def dump(envelope) -> bytes:
    return json.dumps(envelope, separators=(",", ":")).encode()


def signed(body: bytes, ts: int | str | None = None, secret: str = SECRET) -> dict:
    ts = str(int(time.time()) if ts is None else ts)
    return {"ts": ts, "sig": webhook_signature(secret_token=secret, timestamp=ts, body=body)}


@st.composite
def malformed_bodies(draw):
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.text(max_size=200).map(str.encode),
            st.sampled_from([b"", b"null", b"[]", b"{}", b'"x"', b"{", b'{"event":', b"\xff\xfe{}"]),
            st.builds(lambda v: dump(v), st.one_of(st.lists(st.integers()), st.integers(), st.text())),
        )
    )
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        parsed = None
    assume(not (isinstance(parsed, dict) and isinstance(parsed.get("event"), str) and parsed["event"]))
    # An empty body travels without a Content-Type (the test client drops it, as browsers do).
    return {"body": body, **signed(body), "status": 415 if not body else 400, "family": "malformed"}


@st.composite
def unsigned(draw):
    body = dump(draw(valid_envelopes()))
    headers = draw(st.sampled_from(["none", "no-signature", "empty-signature", "no-timestamp"]))
    request = {"body": body, "status": 401, "family": "unsigned"}
    if headers == "none":
        return {**request, "ts": None, "sig": None}
    fresh = signed(body)
    if headers == "no-signature":
        return {**request, "ts": fresh["ts"], "sig": None}
    if headers == "empty-signature":
        return {**request, "ts": fresh["ts"], "sig": ""}
    return {**request, "ts": None, "sig": fresh["sig"]}


@st.composite
def wrong_signatures(draw):
    envelope = draw(valid_envelopes())
    body = dump(envelope)
    kind = draw(st.sampled_from(["secret", "other-body", "garbage", "no-prefix", "other-ts"]))
    ts = str(int(time.time()))
    if kind == "secret":
        sig = signed(body, ts, secret=draw(st.text(min_size=1, max_size=20).filter(lambda s: s != SECRET)))[
            "sig"
        ]
    elif kind == "other-body":
        sig = signed(body + b" ", ts)["sig"]
    elif kind == "garbage":
        sig = draw(st.text(max_size=80))
    elif kind == "no-prefix":
        sig = signed(body, ts)["sig"].removeprefix("v0=")
    else:
        sig = signed(body, int(ts) - 1)["sig"]
    return {"body": body, "ts": ts, "sig": sig, "status": 401, "family": "signature"}


@st.composite
def bad_timestamps(draw):
    body = dump(draw(valid_envelopes()))
    # Draw offsets, not absolute times: a strategy whose bounds move with the clock makes
    # hypothesis report "inconsistent data generation".
    kind = draw(st.sampled_from(["stale", "future", "literal"]))
    now = int(time.time())
    if kind == "literal":
        ts = draw(st.sampled_from(["", "-1", "1e9", " 1", "now", "١٢٣", "<now>.0", "9" * 13]))
        ts = ts.replace("<now>", str(now))
    else:
        # A future timestamp comes closer to "now" while the request waits: start 30 s beyond
        # the 300 s window, else one 301 s ahead is accepted once the clock ticks (a flake).
        offset = draw(st.integers(301 if kind == "stale" else 330, 10**9))
        ts = str(now - offset if kind == "stale" else now + offset)
    return {"body": body, **signed(body, ts), "status": 401, "family": "timestamp"}


@st.composite
def replays(draw):
    """A request that was valid when sent, replayed after its timestamp went stale."""
    body = dump(draw(valid_envelopes()))
    sent_at = int(time.time()) - draw(st.integers(301, 30 * 24 * 3600))
    return {"body": body, **signed(body, sent_at), "status": 401, "family": "replay"}


@st.composite
def oversized(draw):
    envelope = draw(valid_envelopes())
    envelope["payload"]["padding"] = "a" * draw(st.integers(MAX_BODY, 3 * MAX_BODY))
    body = dump(envelope)
    return {"body": body, **signed(body), "status": 413, "family": "oversized"}


@st.composite
def declared_oversized(draw):
    body = dump(draw(valid_envelopes()))
    length = draw(st.integers(MAX_BODY + 1, 10**9))
    return {"body": body, **signed(body), "length": str(length), "status": 413, "family": "declared-size"}


@st.composite
def wrong_content_types(draw):
    body = dump(draw(valid_envelopes()))
    content_type = draw(
        st.sampled_from(
            [
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/xml",
                "application/jsonp",
                "text/json",
                "application/octet-stream",
            ]
        )
    )
    return {
        "body": body,
        **signed(body),
        "content_type": content_type,
        "status": 415,
        "family": "content-type",
    }


@st.composite
def missing_fields(draw):
    envelope = draw(valid_envelopes())
    required = [
        "rtms_stream_id",
        "session_id" if envelope["event"].startswith("session.") else "meeting_uuid",
    ]
    if envelope["event"].endswith("rtms_started"):
        required.append("server_urls")
    missing = draw(st.sampled_from(required))
    if draw(st.booleans()):
        del envelope["payload"][missing]
    else:
        envelope["payload"][missing] = draw(st.sampled_from([None, ""]))
    body = dump(envelope)
    return {"body": body, **signed(body), "status": 400, "family": "missing"}


@st.composite
def wrong_types(draw):
    envelope = draw(valid_envelopes())
    where = draw(st.sampled_from(["event", "event_ts", "payload", "id", "stream", "urls", "stop_reason"]))
    payload = envelope["payload"]
    if where == "event":
        envelope["event"] = draw(st.one_of(junk.filter(lambda v: not isinstance(v, str)), st.just("")))
    elif where == "event_ts":
        envelope["event_ts"] = draw(
            st.one_of(
                st.text(max_size=5), st.booleans(), st.floats(allow_nan=False), st.integers(max_value=-1)
            )
        )
    elif where == "payload":
        envelope["payload"] = draw(
            st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=5), st.integers())
        )
    elif where == "id":
        key = "session_id" if "session_id" in payload else "meeting_uuid"
        payload[key] = draw(
            st.one_of(junk.filter(lambda v: v not in (None, "")), st.text(min_size=201, max_size=300))
        )
    elif where == "stream":
        payload["rtms_stream_id"] = draw(
            st.one_of(junk.filter(lambda v: v not in (None, "")), st.text(min_size=201, max_size=300))
        )
    elif where == "urls":
        envelope["event"] = envelope["event"].rsplit(".", 1)[0] + ".rtms_started"
        payload["server_urls"] = draw(
            st.one_of(
                junk.filter(lambda v: v is not None),
                st.sampled_from(["http://rtms.zoom.us/", "zoom.us", "ftp://x", " , ", "wss://ok,https://no"]),
            )
        )
    else:
        envelope["event"] = envelope["event"].rsplit(".", 1)[0] + ".rtms_stopped"
        payload["stop_reason"] = draw(
            st.one_of(st.text(max_size=3), st.booleans(), st.floats(allow_nan=False))
        )
    body = dump(envelope)
    return {"body": body, **signed(body), "status": 400, "family": "types"}


@st.composite
def unknown_products_unsigned(draw):
    """Unknown products and events (a signed one would be recorded and acknowledged, by design)."""
    event = draw(
        st.one_of(
            st.sampled_from(["phone.rtms_started", "contact_center.voice_rtms_started", "rtms.start_failed"]),
            st.from_regex(r"\A[a-z_]{1,12}\.[a-z_]{1,20}\Z"),
        )
    )
    body = dump({"event": event, "event_ts": 1, "payload": {"rtms_stream_id": draw(ids)}})
    sig = draw(st.sampled_from([None, "", "v0=" + "0" * 64]))
    return {"body": body, "ts": str(int(time.time())), "sig": sig, "status": 401, "family": "unknown-product"}


@st.composite
def bad_url_validation(draw):
    token = draw(
        st.one_of(junk, st.text(max_size=20).filter(lambda t: not t.isalnum()), st.text(min_size=257))
    )
    body = dump({"event": "endpoint.url_validation", "payload": {"plainToken": token}})
    return {"body": body, **signed(body), "status": 400, "family": "url-validation"}


BAD_REQUESTS = st.one_of(
    malformed_bodies(),
    unsigned(),
    wrong_signatures(),
    bad_timestamps(),
    replays(),
    oversized(),
    declared_oversized(),
    wrong_content_types(),
    missing_fields(),
    wrong_types(),
    unknown_products_unsigned(),
    bad_url_validation(),
)


def nothing_written() -> bool:
    return not (WebhookEvent.objects.exists() or Stream.objects.exists() or Meeting.objects.exists())


@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(bad=BAD_REQUESTS)
def test_bad_webhooks_are_4xx_and_write_nothing(client, bad):
    headers = {}
    if bad["ts"] is not None:
        headers["x-zm-request-timestamp"] = bad["ts"]
    if bad["sig"] is not None:
        headers["x-zm-signature"] = bad["sig"]
    extra = {"CONTENT_LENGTH": bad["length"]} if "length" in bad else {}
    response = client.generic(
        "POST",
        URL,
        bad["body"],
        content_type=bad.get("content_type", "application/json"),
        headers=headers,
        **extra,
    )
    assert response.status_code == bad["status"], bad["family"]
    assert response.content == b""
    assert nothing_written(), bad["family"]
