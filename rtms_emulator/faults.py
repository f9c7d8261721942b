"""Fault injection: what can go wrong, when, and how it is written (CLI, scenario, API).
``fault_injection.py`` applies them to a playing stream.

A fault happens at a time ``at`` (seconds of meeting time). Kinds and parameters:

==================  ==========================================================================
media_abort         TCP abort of a media socket (no close frame). ``media``: audio (default),
                    transcript, chat, video, deskshare, all.
media_close         close frame on a media socket (``code``, default 1001).
signaling_abort     TCP abort of the signaling socket (the server then interrupts media too).
signaling_close     close frame on the signaling socket (``code``, default 1001).
outage              the RTMS server unreachable for ``seconds`` (default 10): every socket
                    aborted, WebSocket upgrades answered 503 until then; the stream ends
                    (stop reason 19) if nobody rejoins within ``reconnect_window``.
failover            a new ``rtms_started`` for the same stream with different ``server_urls``;
                    the old URLs stop being served (needs a webhook URL).
duplicate_webhook   the ``rtms_started`` webhook again, same body (a Zoom retry).
junk                malformed frames on ``socket`` (signaling | media | both, default both):
                    ``kinds`` from malformed_json, json_array, non_utf8, unknown_msg_type,
                    string_msg_type, unknown_event_type (default all).
keepalive_storm     ``count`` (default 20) KEEP_ALIVE_REQ back to back on every socket.
terminate           server-initiated end with ``reason`` (RTMS_STOP_REASON, default 1).
pause / resume      STREAM_STATE_UPDATE 5/6 + SESSION_STATE_UPDATE 3/4; no media while paused.
==================  ==========================================================================

Drops are preceded by a keep-alive "fence" (``fence``, default true): the emulator waits up to
1 s for the client to answer a keep-alive on every socket, so every message sent before the drop
is known read (a client such as Zoom's SDK drops all its sockets on any loss) and nothing is
replayed twice. With ``fence: false`` the unconfirmed frames are
replayed after the reconnect (a client must then de-duplicate by timestamp).

String form (CLI ``--fault``): ``kind@seconds[:key=value[,key=value...]]``, e.g.
``media_abort@20``, ``junk@5:socket=signaling``, ``terminate@30:reason=6``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = frozenset(
    {
        "media_abort",
        "media_close",
        "signaling_abort",
        "signaling_close",
        "outage",
        "failover",
        "duplicate_webhook",
        "junk",
        "keepalive_storm",
        "terminate",
        "pause",
        "resume",
    }
)
JUNK_KINDS = (
    "malformed_json",
    "json_array",
    "non_utf8",
    "unknown_msg_type",
    "string_msg_type",
    "unknown_event_type",
)
MEDIA_NAMES = ("audio", "video", "deskshare", "transcript", "chat", "all")


@dataclass(frozen=True)
class Fault:
    """One fault: ``kind`` from FAULT_KINDS at ``at`` seconds of meeting time, with ``params``."""

    kind: str
    at: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parse_fault_params({"fault": self.kind, **self.params})
        if self.at < 0:
            raise ValueError(f"fault {self.kind}: 'at' must be >= 0, got {self.at}")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """``kind@seconds[:key=value,...]`` -> Fault. ValueError with the reason on bad input."""
        head, _, tail = spec.partition(":")
        kind, _, at_text = head.partition("@")
        try:
            at = float(at_text) if at_text else 0.0
        except ValueError:
            raise ValueError(f"fault {spec!r}: time after '@' must be seconds, got {at_text!r}") from None
        params: dict[str, Any] = {}
        for item in filter(None, tail.split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                raise ValueError(f"fault {spec!r}: parameter {item!r} is not key=value")
            params[key.strip()] = _coerce(value.strip())
        if "kinds" in params and isinstance(params["kinds"], str):
            params["kinds"] = params["kinds"].split("+")
        return cls(kind.strip(), at, params)


def _coerce(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def parse_fault_params(params: dict[str, Any]) -> None:
    """Validate a fault's ``fault`` kind and parameters; ValueError naming the problem."""
    kind = params.get("fault")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r} (known: {', '.join(sorted(FAULT_KINDS))})")
    allowed = {
        "media_abort": {"media", "fence"},
        "media_close": {"media", "code", "fence"},
        "signaling_abort": {"fence"},
        "signaling_close": {"code", "fence"},
        "outage": {"seconds", "fence"},
        "junk": {"socket", "kinds"},
        "keepalive_storm": {"count"},
        "terminate": {"reason"},
    }.get(kind, set())
    extra = set(params) - allowed - {"fault"}
    if extra:
        raise ValueError(f"fault {kind}: unknown parameters {sorted(extra)} (allowed: {sorted(allowed)})")
    if "media" in params and params["media"] not in MEDIA_NAMES:
        raise ValueError(f"fault {kind}: media must be one of {MEDIA_NAMES}, got {params['media']!r}")
    if "socket" in params and params["socket"] not in ("signaling", "media", "both"):
        raise ValueError(f"fault {kind}: socket must be signaling, media or both, got {params['socket']!r}")
    if "kinds" in params:
        kinds = params["kinds"]
        if not isinstance(kinds, list) or not set(kinds) <= set(JUNK_KINDS):
            raise ValueError(f"fault {kind}: kinds must be a list from {JUNK_KINDS}, got {kinds!r}")
    if "seconds" in params and (
        isinstance(params["seconds"], bool)
        or not isinstance(params["seconds"], (int, float))
        or params["seconds"] <= 0
    ):
        raise ValueError(f"fault {kind}: seconds must be a positive number, got {params['seconds']!r}")
    for key in ("count", "reason", "code"):
        if key in params and (isinstance(params[key], bool) or not isinstance(params[key], int)):
            raise ValueError(f"fault {kind}: {key} must be an integer, got {params[key]!r}")
