"""Template tags of the meeting page's audio player and sharing panel (issue 20)."""

from __future__ import annotations

from django import template

from meetings.selectors.recordings import recording_default
from meetings.selectors.sharing import meeting_can_share

register = template.Library()


@register.simple_tag
def meeting_recording(meeting):
    """The recording the player loads first (the earliest mixed one), or None."""
    return recording_default(meeting=meeting)


@register.filter
def can_share(user, meeting) -> bool:
    """``{% if request.user|can_share:meeting %}``: the owner (or staff) manages sharing."""
    return meeting_can_share(user=user, meeting=meeting)


@register.simple_tag(takes_context=True)
def sharing_for(context, meeting):
    """The sharing panel's data (``views_sharing.sharing_context``) for the page's request."""
    from meetings.views_sharing import sharing_context

    return sharing_context(context["request"], meeting)["sharing"]
