"""The RTMS handshakes, sans-IO (PROTOCOL.md A.2): msg 1 → 2, msg 5, msg 3 → 4 per media socket,
msg 7; the media plan (one socket per type, the rest sharing ``all``). Pure: messages as dicts
in and out, no sockets, no asyncio, no Django. Part of the state machine of ``connection.py``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from typing import Any

from streams.rtms import messages
from streams.rtms.config import ClientConfig
from streams.rtms.errors import RTMSConnectionError, RTMSFrameError, RTMSHandshakeError, handshake_error
from streams.rtms.protocol import MEDIA_NOT_SUPPORTED_STATUS
from streams.rtms.signing import handshake_signature

logger = logging.getLogger("streams.rtms")

# Handshake statuses meaning "this media type is not in the app's scopes": drop that type, go on.
MEDIA_NOT_SUPPORTED = frozenset(MEDIA_NOT_SUPPORTED_STATUS.values())


class Handshakes:
    """Builds the handshake messages of one stream (one sequence counter, one signature) and
    checks the answers. ``media_plan``: socket name → (url, media names), from the last msg 2."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.signature = handshake_signature(
            client_id=config.client_id,
            client_secret=config.client_secret,
            instance_id=config.instance_id,
            rtms_stream_id=config.rtms_stream_id,
        )
        self.media_plan: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._sequence = itertools.count(1)

    def signaling_handshake_req(self) -> dict[str, Any]:
        """Msg 1 (SIGNALING_HAND_SHAKE_REQ) with the signature and the next sequence number."""
        cfg = self.config
        return messages.signaling_handshake_req(
            instance_id=cfg.instance_id,
            rtms_stream_id=cfg.rtms_stream_id,
            signature=self.signature,
            sequence=next(self._sequence),
            id_key=cfg.id_key,
            buffer_data=cfg.buffer_data,
        )

    def accept_signaling_handshake(self, resp: dict[str, Any]) -> dict[str, str]:
        """Msg 2 → the media ``server_urls``. Raises :class:`RTMSConnectionError` (malformed) or
        the :func:`handshake_error` of a non-zero ``status_code`` (auth: fatal; 8: retried)."""
        try:
            hs = messages.parse_signaling_handshake_resp(resp)
        except RTMSFrameError as exc:
            raise RTMSConnectionError(f"malformed SIGNALING_HAND_SHAKE_RESP: {exc}") from exc
        if hs.status_code != 0:
            raise handshake_error(hs.status_code, hs.reason, scope="signaling")
        return hs.server_urls

    def event_subscription(self) -> dict[str, Any] | None:
        """Msg 5, sent right after msg 2 (and after every re-handshake); None: nothing subscribed."""
        if not self.config.subscribe_events:
            return None
        return messages.event_subscription(self.config.subscribe_events)

    def plan_media(self, server_urls: dict[str, str]) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Split sockets per media type; types without their own URL share one ``all`` socket.
        Kept as ``media_plan`` (media-only reopens use it)."""
        plan: dict[str, tuple[str, tuple[str, ...]]] = {}
        rest: list[str] = []
        for media in self.config.media:
            url = server_urls.get(media)
            if url:
                plan[media] = (url, (media,))
            else:
                rest.append(media)
        if rest and server_urls.get("all"):
            plan["all"] = (server_urls["all"], tuple(rest))
        elif rest:
            logger.warning(
                "RTMS %s: no media URL for %s (not in the app's scopes?)", self.config.rtms_stream_id, rest
            )
        self.media_plan = plan
        return plan

    def data_handshake_req(self, media: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Msg 3 for a socket carrying ``media`` (OR of their bits, only their params), and the
        params asked for (to compare with msg 4's echo)."""
        cfg = self.config
        bits = 0
        params: dict[str, Any] = {}
        for name in media:
            bits |= int(messages.MEDIA_BITS[name])
            if name == "audio":
                params["audio"] = messages.audio_media_params(
                    data_opt=cfg.audio_data_opt, send_rate=cfg.audio_send_rate_ms
                )
            elif name == "transcript":
                params["transcript"] = messages.transcript_media_params(
                    src_language=cfg.transcript_language, enable_lid=cfg.transcript_enable_lid
                )
            elif name == "chat":
                params["chat"] = messages.chat_media_params()
        msg = messages.data_handshake_req(
            instance_id=cfg.instance_id,
            rtms_stream_id=cfg.rtms_stream_id,
            signature=self.signature,
            sequence=next(self._sequence),
            media_type=bits,
            media_params=params,
            id_key=cfg.id_key,
        )
        return msg, params

    def accept_data_handshake(
        self, name: str, scope: str, resp: dict[str, Any], wanted: dict[str, Any]
    ) -> dict[str, Any]:
        """Msg 4 → the effective media params. Raises like :meth:`accept_signaling_handshake`;
        a changed codec/rate/channel is only logged."""
        try:
            hs = messages.parse_data_handshake_resp(resp)
        except RTMSFrameError as exc:
            raise RTMSConnectionError(f"malformed DATA_HAND_SHAKE_RESP: {exc}", scope=scope) from exc
        if hs.status_code != 0:
            raise handshake_error(hs.status_code, hs.reason, scope=scope)
        audio = hs.media_params.get("audio")
        if "audio" in wanted and isinstance(audio, dict):
            for key in ("codec", "sample_rate", "channel"):
                if key in audio and audio[key] != wanted["audio"][key]:
                    logger.warning(
                        "RTMS %s: server changed audio %s from %s to %s on %s",
                        self.config.rtms_stream_id,
                        key,
                        wanted["audio"][key],
                        audio[key],
                        name,
                    )
        return hs.media_params

    def drop_if_not_granted(self, name: str, error: BaseException) -> bool:
        """A media handshake answered "not supported" (status 9–13: not in the app's scopes):
        drop that socket from the plan and go on (True). Any other error: False."""
        if isinstance(error, RTMSHandshakeError) and error.status_code in MEDIA_NOT_SUPPORTED:
            logger.warning(
                "RTMS %s: %s not granted (%s); continuing without it", self.config.rtms_stream_id, name, error
            )
            self.media_plan.pop(name, None)
            return True
        return False

    def client_ready_ack(self) -> dict[str, Any]:
        """Msg 7, once after every successful set of msg 4s."""
        return messages.client_ready_ack(self.config.rtms_stream_id)

    def stream_close_req(self) -> dict[str, Any]:
        """Msg 21: ask Zoom to end the stream."""
        return messages.stream_close_req(self.config.rtms_stream_id)

    def granted_media(self, socket_media: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
        """The configured media names carried by the connected media sockets, in config order."""
        carried = {m for media in socket_media for m in media}
        return tuple(m for m in self.config.media if m in carried)
