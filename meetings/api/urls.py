"""URLs of the REST API, mounted at /api/ (namespace ``api``)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from meetings.api import (
    views,
    views_action_items,
    views_audio,
    views_export,
    views_notes,
    views_search,
    views_sharing,
    views_summary,
    views_transcript,
)

app_name = "api"

urlpatterns = [
    path("meetings/", views.MeetingListApi.as_view(), name="meeting-list"),
    path("meetings/<uuid:public_id>/", views.MeetingDetailApi.as_view(), name="meeting-detail"),
    path(
        "meetings/<uuid:public_id>/transcript/",
        views_transcript.MeetingTranscriptApi.as_view(),
        name="meeting-transcript",
    ),
    path("meetings/<uuid:public_id>/chat/", views_transcript.MeetingChatApi.as_view(), name="meeting-chat"),
    path(
        "meetings/<uuid:public_id>/events/",
        views_transcript.MeetingEventsApi.as_view(),
        name="meeting-events",
    ),
    path("meetings/<uuid:public_id>/audio/", views_audio.MeetingAudioApi.as_view(), name="meeting-audio"),
    path(
        "meetings/<uuid:public_id>/summary/",
        views_summary.MeetingSummaryApi.as_view(),
        name="meeting-summary",
    ),
    path(
        "meetings/<uuid:public_id>/summarize/",
        views_summary.MeetingSummarizeApi.as_view(),
        name="meeting-summarize",
    ),
    path(
        "meetings/<uuid:public_id>/retranscribe/",
        views_transcript.MeetingRetranscribeApi.as_view(),
        name="meeting-retranscribe",
    ),
    path("meetings/<uuid:public_id>/export/", views_export.MeetingExportApi.as_view(), name="meeting-export"),
    path("search/", views_search.SearchApi.as_view(), name="search"),
    # --- Speaker names and bookmarks (issue 20) ---
    path(
        "meetings/<uuid:public_id>/participants/<int:participant_id>/",
        views_notes.ParticipantDetailApi.as_view(),
        name="meeting-participant",
    ),
    path(
        "meetings/<uuid:public_id>/bookmarks/",
        views_notes.BookmarkListApi.as_view(),
        name="meeting-bookmarks",
    ),
    path(
        "meetings/<uuid:public_id>/bookmarks/<int:bookmark_id>/",
        views_notes.BookmarkDetailApi.as_view(),
        name="meeting-bookmark",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]

# --- Action items people work with (issue 20, part 1) -------------------------------------------
urlpatterns += [
    path("action-items/", views_action_items.MyActionItemListApi.as_view(), name="my-action-items"),
    path(
        "meetings/<uuid:public_id>/action-items/",
        views_action_items.MeetingActionItemListApi.as_view(),
        name="meeting-action-items",
    ),
    path(
        "meetings/<uuid:public_id>/action-items/<int:item_id>/",
        views_action_items.MeetingActionItemDetailApi.as_view(),
        name="meeting-action-item",
    ),
]

# --- Audio replay and sharing (issue 20) -------------------------------------------------------

urlpatterns += [
    path(
        "meetings/<uuid:public_id>/audio/cue/",
        views_audio.MeetingAudioCueApi.as_view(),
        name="meeting-audio-cue",
    ),
    path(
        "meetings/<uuid:public_id>/sharing/",
        views_sharing.MeetingSharingApi.as_view(),
        name="meeting-sharing",
    ),
    path(
        "meetings/<uuid:public_id>/sharing/users/",
        views_sharing.MeetingSharingUsersApi.as_view(),
        name="meeting-sharing-users",
    ),
    path(
        "meetings/<uuid:public_id>/sharing/links/",
        views_sharing.MeetingShareLinksApi.as_view(),
        name="meeting-share-links",
    ),
]
