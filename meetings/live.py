"""Live fan-out: render once, broadcast HTML to every browser watching a meeting.

Producers (services' ``on_commit`` callbacks, the ingest loop, tasks) call :func:`push`
with a meeting pk and an HTML fragment; ``MeetingConsumer`` forwards the text.
Payloads are plain ``str``/``int`` (channels-redis serializes with msgpack).

Embedded mode uses the in-memory channel layer, whose queues belong to the server's event
loop: a push from another thread (a task thread, the ORM thread) is scheduled onto that loop
with ``run_coroutine_threadsafe`` (:func:`bind_server_loop` is called at start-up). A thread
that works for one event loop (the ingest writer lanes, ``streams/lanes.py``) names it with
:func:`use_loop`: its pushes are scheduled on that loop without waiting (the worker's Redis
connections live there), not sent through ``async_to_sync``, which would start a new event
loop for each push. :func:`push_loop` is the one place that picks the loop; :func:`group_send`
has one send path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

FRAGMENT_EVENT = "meeting.fragment"  # handled by MeetingConsumer / MeetingListConsumer.meeting_fragment
STAFF_GROUP = "meetings.staff"  # the meetings list of every staff user (staff see all meetings)
PUSH_TIMEOUT_SECONDS = 5.0
_server_loop: asyncio.AbstractEventLoop | None = None
_thread = threading.local()  # .loop: the loop this thread pushes to (use_loop)


def bind_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Route sync pushes to ``loop`` (embedded mode, in-memory layer); None unbinds."""
    global _server_loop
    _server_loop = loop


@contextlib.contextmanager
def use_loop(loop: asyncio.AbstractEventLoop):
    """Within the block, sync pushes from this thread go to ``loop`` (a running loop that this
    thread never blocks); outside it, the server loop or ``async_to_sync`` as before."""
    previous = getattr(_thread, "loop", None)
    _thread.loop = loop
    try:
        yield
    finally:
        _thread.loop = previous


def meeting_group_name(meeting_id: int) -> str:
    """Channels group for one meeting: from our integer pk, never a Zoom id (regex-safe)."""
    return f"meeting.{int(meeting_id)}"


def user_group_name(user_id: int) -> str:
    """Channels group of one user's meetings list (rows of the meetings they may see)."""
    return f"user.{int(user_id)}"


def fragment_message(html: str, *, seq: int = 0) -> dict[str, object]:
    return {"type": FRAGMENT_EVENT, "html": html, "seq": int(seq)}


async def agroup_send(group: str, message: dict[str, object]) -> None:
    await get_channel_layer().group_send(group, message)


def push_loop() -> tuple[asyncio.AbstractEventLoop | None, bool]:
    """The one place a sync push picks where it goes: ``(loop, wait)`` for the calling thread.

    A :func:`use_loop` thread whose loop runs: that loop, no wait (a lane never waits for a busy
    loop). Else the bound server loop (embedded): wait for the send, unless this thread runs
    that loop (it cannot block itself). Else ``(None, True)``: no loop of ours (scaled mode,
    a script), ``async_to_sync`` sends on a loop of its own."""
    own = getattr(_thread, "loop", None)
    if own is not None and own.is_running():
        return own, False
    loop = _server_loop
    if loop is None:
        return None, True
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    return loop, running is not loop


def group_send(group: str, message: dict[str, object]) -> None:
    """Sync group_send that works from any thread in both run modes (:func:`push_loop` picks
    the loop).

    Without waiting it is scheduled on the loop and returns at once (sends start in call order
    and the layers send in start order, so fragments keep their order; a failure is logged);
    waiting, it returns once sent and raises ``TimeoutError`` after :data:`PUSH_TIMEOUT_SECONDS`
    when the server loop is stuck. A server loop that has stopped (embedded shutdown) gets
    nothing: nobody is connected any more, browsers catch up from their last ``seq`` when they
    reconnect to the next server."""
    loop, wait = push_loop()
    if loop is None:
        async_to_sync(agroup_send)(group, message)
        return
    if not loop.is_running():
        logger.info("live push to %s skipped: the server loop has stopped", group)
        return
    future = asyncio.run_coroutine_threadsafe(agroup_send(group, message), loop)
    if wait:
        future.result(timeout=PUSH_TIMEOUT_SECONDS)
    else:
        future.add_done_callback(_log_failure)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("live push failed: %r", future.exception())


def push(meeting_id: int, html: str, *, seq: int = 0) -> None:
    """Send an HTML fragment to everyone watching ``meeting_id`` (sync callers)."""
    group_send(meeting_group_name(meeting_id), fragment_message(html, seq=seq))


def push_list(user_ids: list[int], html: str) -> None:
    """Send a meetings-list fragment to these users' list pages and to every staff list page."""
    message = fragment_message(html)
    for group in [*(user_group_name(user_id) for user_id in user_ids), STAFF_GROUP]:
        group_send(group, message)


def after_commit(func, /, *args, **kwargs) -> None:
    """``transaction.on_commit(..., robust=True)`` for a side effect with arguments.

    A failing push is logged, never raised into the writer (its data is already committed).
    The callback is a named function: Django 5.2's robust handler logs ``func.__qualname__``,
    which a ``functools.partial`` lacks (the logging itself would raise).
    """
    from django.db import transaction

    def callback() -> None:
        func(*args, **kwargs)

    callback.__qualname__ = f"after_commit({getattr(func, '__qualname__', repr(func))})"
    transaction.on_commit(callback, robust=True)


# --- Sharing (issue 20): a revoked user's open tabs are closed -----------------------------------

ACCESS_CHANGED_EVENT = "meeting.access_changed"


def push_access_changed(meeting_id: int, user_id: int) -> None:
    """Tell the meeting's sockets that ``user_id`` may have lost access: each process's hub
    re-checks that user's tabs and closes them with 4403 if the meeting is no longer visible."""
    group_send(meeting_group_name(meeting_id), {"type": ACCESS_CHANGED_EVENT, "user_id": int(user_id)})
