"""The render contract of a live line: one place that owns its markup and how a push swaps it.

A *live line* is one item of a live list on the meeting page: a transcript line (``#transcript``),
a chat message (``#chat``), a timeline event (``#events``). Each kind has one template, listed in
:data:`LINES`; the page's first paint (the ``{% live_line %}`` tag) and every push
(``meetings.fragments``) render it through :func:`render_line`, so changing how a line looks is
an edit of that one template.

The item's root element carries ``id`` (``segment-<pk>``, unique on the page), ``data-seq`` (the
row's change number), ``data-sort`` (milliseconds from the meeting start) and ``data-pk``.

A push wraps rendered items with :func:`push_wrapper`::

    <div hx-swap-oob="beforeend:#transcript">ITEM ITEM …</div>

**Swap semantics: upsert.** htmx is told ``beforeend`` (:data:`SWAP`, the closest htmx swap
style); ``static/js/live.js`` intercepts every out-of-band swap whose target has
``data-live-list`` (``htmx:oobBeforeSwap``) and does instead, per item: an item whose ``id`` is
already on the page replaces it only if its ``data-seq`` is newer (a revised segment replaces
itself; a duplicate or stale copy is dropped); a new item is inserted in
``(data-sort, data-pk)`` order (``data-order="asc"|"desc"`` on the list), so a late Whisper line
lands in its place. Every live list on the page therefore needs ``data-live-list``; the
meetings list's rows (``#meeting-rows``, ``afterbegin``) follow the same upsert.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# list id -> (item template, the context name of the row)
LINES: dict[str, tuple[str, str]] = {
    "transcript": ("meetings/partials/_segment.html", "segment"),
    "chat": ("meetings/partials/_chat_message.html", "message"),
    "events": ("meetings/partials/_event.html", "event"),
}
SWAP = "beforeend"  # what htmx is told; live.js turns it into the upsert above


def render_line(list_id: str, row, *, speaker_names: dict[int, str] | None = None) -> SafeString:
    """One line of live list ``list_id`` (a key of :data:`LINES`) for ``row`` (a
    ``TranscriptSegment``, ``ChatMessage`` or ``ParticipantEvent``); ``speaker_names``: the
    meeting's renamed speakers (participant pk → name). ``KeyError`` for an unknown list."""
    template, name = LINES[list_id]
    return mark_safe(render_to_string(template, {name: row, "speaker_names": speaker_names or {}}))  # noqa: S308


def push_wrapper(list_id: str, items_html: str) -> SafeString:
    """Rendered lines of ``list_id``, wrapped for an out-of-band swap into the live list."""
    if list_id not in LINES:
        raise KeyError(list_id)
    return format_html('<div hx-swap-oob="{}:#{}">{}</div>', SWAP, list_id, mark_safe(items_html))  # noqa: S308


def render_push(list_id: str, row, *, speaker_names: dict[int, str] | None = None) -> SafeString:
    """One line as a push: :func:`render_line` inside :func:`push_wrapper`."""
    return push_wrapper(list_id, render_line(list_id, row, speaker_names=speaker_names))
