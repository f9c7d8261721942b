"""The scenario player of one emulated stream: the timeline, paced, as media and events.

Waits for the client (signaling + CLIENT_READY_ACK, else stop reason 11 after
``connect_timeout``), announces the session ``ready_delay`` later, then plays one 20 ms tick at
a time (``speed``: 1.0 real time, >1 faster, None unpaced): audio every ``send_rate``,
transcript at each utterance's end, chat, participant / active-speaker / sharing events,
pause/resume and faults (``fault_injection.py``) at their times; it holds while the stream is
not ready (a client away: nothing is lost) and ends the stream ``terminate_gap`` after the last
entry. Messages are built by ``messages.py`` and sent through the stream's
:class:`rtms_emulator.run.Run` (seen through :class:`rtms_emulator.stage.Stage`); audio packets come
precomputed from the scenario.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

from rtms_emulator import messages
from rtms_emulator.fault_injection import inject
from rtms_emulator.faults import Fault
from rtms_emulator.handshake import AUDIO_DEFAULTS
from rtms_emulator.scenario import ChatMessage, Scenario, TimelineEvent, Utterance
from rtms_emulator.sockets import now_ms
from rtms_emulator.stage import Stage
from streams.rtms.protocol import FRAME_MS, EventType, StopReason


def tick_of(seconds: float) -> int:
    """The 20 ms tick of meeting time ``seconds``."""
    return max(0, round(seconds * 1000 / FRAME_MS))


def timeline(scenario: Scenario, faults: Iterable[Fault]) -> list[tuple[int, int, Any]]:
    """Every entry of the scenario after its start, as ``(tick, order, entry)`` sorted: events
    in file order, then joins before, chat and transcript after, leaves and faults last within a
    tick. Entries: :class:`TimelineEvent` (``join``/``leave``/``fault`` made up here),
    :class:`ChatMessage`, :class:`Utterance` (at its end)."""
    items: list[tuple[int, int, Any]] = []
    for n, e in enumerate(scenario.events):
        items.append((tick_of(e.at), n, e))
    for p in scenario.participants:
        if p.join > 0:
            items.append((tick_of(p.join), -2, TimelineEvent(p.join, "join", p.key)))
        if p.leave is not None:
            items.append((tick_of(p.leave), 10**6, TimelineEvent(p.leave, "leave", p.key)))
    for c in scenario.chat:
        items.append((tick_of(c.at), 10**5, c))
    for u in scenario.transcript or ():
        items.append((tick_of(u.end), 10**5, u))
    for f in faults:
        items.append(
            (tick_of(f.at), 10**7, TimelineEvent(f.at, "fault", None, {"fault": f.kind, **f.params}))
        )
    items.sort(key=lambda x: (x[0], x[1]))
    return items


class Player:
    """Plays ``scenario`` on ``run``'s stream (``faults`` injected on the way), then ends it
    with ``stop_reason``."""

    def __init__(
        self,
        run: Stage,
        scenario: Scenario,
        *,
        speed: float | None,
        faults: Iterable[Fault],
        stop_reason: int,
    ) -> None:
        self.run = run
        self.session = run.session
        self.record = run.record
        self.cfg = run.cfg
        self.scenario = scenario
        self.speed = speed
        self.faults = tuple(faults)
        self.stop_reason = stop_reason

    async def play(self) -> None:
        run, session = self.run, self.session
        try:
            await asyncio.wait_for(run.ready.wait(), self.cfg.connect_timeout)
        except TimeoutError:
            self.record.notes.append("client did not connect in time")
            await run.terminate(StopReason.STOP_BC_CONNECTION_TIMEOUT)
            return
        if session.terminated:
            return
        await asyncio.sleep(self.cfg.ready_delay)
        session.start(now_ms())
        await run.announce(first=True)
        initial = [p for p in self.scenario.participants if p.join <= 0]
        if initial:
            await run.event(
                EventType.PARTICIPANT_JOIN,
                {"participants": [{"user_id": p.user_id, "user_name": p.user_name} for p in initial]},
                ts=session.ts(0.0),
            )
        schedule = timeline(self.scenario, self.faults)
        loop = asyncio.get_running_loop()
        start = loop.time()
        k = 0
        for tick in range(self.scenario.n_ticks):
            if self.speed:
                delay = start + tick * FRAME_MS / 1000 / self.speed - loop.time()
                if delay > 0.002:
                    await asyncio.sleep(delay)
            elif tick % 5 == 0:
                await asyncio.sleep(0)
            if not run.ready.is_set():
                await run.ready.wait()
            if session.terminated:
                return
            while k < len(schedule) and schedule[k][0] <= tick:
                await self.play_entry(schedule[k][2])
                k += 1
                if session.terminated:
                    return
                if not run.ready.is_set():
                    await run.ready.wait()
            if not session.paused:
                await self._send_audio(tick)
        while k < len(schedule):  # entries at the very end
            await self.play_entry(schedule[k][2])
            k += 1
        if session.terminated:
            return
        await asyncio.sleep(self.cfg.terminate_gap)
        self.record.completed = True
        await run.terminate(self.stop_reason)

    # ---- audio ---------------------------------------------------------------------------------
    async def _send_audio(self, tick: int) -> None:
        conn = self.session.media.get("audio")
        if conn is None:
            if "audio" not in self.session.wanted:
                self.session.note_unsubscribed("audio")
            return
        params = conn.params.get("audio", AUDIO_DEFAULTS)
        k = max(1, params["send_rate"] // FRAME_MS)
        if tick % k:
            return
        ts = self.session.t0_ms + tick * FRAME_MS
        scenario = self.scenario
        if params["data_opt"] == 1:
            data, b64 = scenario.audio_payload(None, tick, k)
            if await self.run.media("audio", messages.mixed_audio_message(b64, len(data), ts), tick):
                self._sent_audio(0, "", data, ts)
            return
        if scenario.mixed is not None and not any(p.segments for p in scenario.participants):
            # only a room mix: label it with the active speaker, as Zoom's SDK does
            data, b64 = scenario.audio_payload(None, tick, k)
            uid = self.session.active_speaker or 0
            name = scenario.by_user_id()[uid].user_name if uid else ""
            if await self.run.media("audio", messages.audio_message(uid, name, b64, len(data), ts), tick):
                self._sent_audio(uid, name, data, ts)
            return
        for p in scenario.participants:
            payload = scenario.audio_payload(p, tick, k)
            if payload is None:
                continue
            data, b64 = payload
            msg = messages.audio_message(p.user_id, p.user_name, b64, len(data), ts)
            if await self.run.media("audio", msg, tick):
                self._sent_audio(p.user_id, p.user_name, data, ts)

    def _sent_audio(self, uid: int, name: str, data: bytes, ts: int) -> None:
        sent = self.record.sent
        sent.audio_byte_counts[uid] = sent.audio_byte_counts.get(uid, 0) + len(data)
        if name:
            sent.user_names[uid] = name
        if self.cfg.record_audio:
            sent.audio.setdefault(uid, bytearray()).extend(data)
            sent.audio_frames.setdefault(uid, []).append(ts)

    # ---- timeline entries ----------------------------------------------------------------------
    async def play_entry(self, item: Any) -> None:
        """Play one timeline entry (see :func:`timeline`) now."""
        run, session = self.run, self.session
        tick = round(getattr(item, "at", getattr(item, "end", 0)) * 1000 / FRAME_MS)
        if isinstance(item, Utterance):
            if session.paused:
                return
            p = self.scenario.participant(item.participant)
            content = {
                "user_id": p.user_id,
                "user_name": p.user_name,
                "start_time": session.ts(item.start),
                "end_time": session.ts(item.end),
                "timestamp": session.ts(item.start),
                "language": item.language,
                "data": item.text,
            }
            if await run.media("transcript", messages.transcript_message(content), tick):
                self.record.sent.transcript.append(content)
            return
        if isinstance(item, ChatMessage):
            if not session.paused:
                await self._chat(item, tick)
            return
        e: TimelineEvent = item
        p = self.scenario.participant(e.participant) if e.participant else None
        ts = session.ts(e.at)
        if e.type == "join" and p:
            body = {"participants": [{"user_id": p.user_id, "user_name": p.user_name}]}
            await run.event(EventType.PARTICIPANT_JOIN, body, ts=ts)
        elif e.type == "leave" and p:
            await run.event(EventType.PARTICIPANT_LEAVE, {"participants": [{"user_id": p.user_id}]}, ts=ts)
        elif e.type == "active_speaker" and p:
            session.active_speaker = p.user_id
            body = {"user_id": p.user_id, "user_name": p.user_name}
            await run.event(EventType.ACTIVE_SPEAKER_CHANGE, body, ts=ts)
        elif e.type == "sharing_start" and p:
            await run.event(EventType.SHARING_START, {"user_id": p.user_id, "user_name": p.user_name}, ts=ts)
        elif e.type == "sharing_stop":
            await run.event(EventType.SHARING_STOP, {}, ts=ts)
        elif e.type in ("pause", "resume"):
            await run.pause(e.type == "pause", e.at)
        elif e.type == "fault":
            await inject(run, e)

    async def _chat(self, c: ChatMessage, tick: int) -> None:
        sender = self.scenario.participant(c.participant)
        message_id = str(uuid.uuid4())
        content: dict[str, Any] = {
            "user_id": sender.user_id,
            "user_name": sender.user_name,
            "timestamp": self.session.ts(c.at),
        }
        if self.cfg.chat_format == "json":
            to = self.scenario.participant(c.to) if c.to else None
            content["data"] = messages.chat_data(
                c.text,
                message_id=message_id,
                sender=(sender.user_id, sender.user_name),
                receiver=(to.user_id, to.user_name) if to else None,
                chat_session_id=self.session.meeting_uuid,
            )
        else:
            content["data"] = c.text
        if await self.run.media("chat", messages.chat_message(content), tick):
            self.record.sent.chat.append(content | {"text": c.text, "message_id": message_id})
