from __future__ import annotations

from django.urls import path

from meetings import views, views_bookmarks, views_search, views_speakers, views_summary

app_name = "meetings"

urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("meetings/<uuid:public_id>/", views.meeting_detail, name="detail"),
    path("search/", views_search.search_page, name="search"),
    path("account/api-token/", views_search.api_token, name="api-token"),
    path("meetings/<uuid:public_id>/summarize/", views_summary.meeting_summarize, name="summarize"),
    path(
        "meetings/<uuid:public_id>/transcript/earlier/",
        views.transcript_earlier,
        name="transcript-earlier",
    ),
    # --- Speaker names and bookmarks (issue 20) ---
    path(
        "meetings/<uuid:public_id>/participants/<int:participant_id>/rename/",
        views_speakers.participant_rename,
        name="participant-rename",
    ),
    path("meetings/<uuid:public_id>/bookmarks/", views_bookmarks.bookmark_create, name="bookmark-create"),
    path(
        "meetings/<uuid:public_id>/bookmarks/<int:bookmark_id>/",
        views_bookmarks.bookmark_update,
        name="bookmark-update",
    ),
    path(
        "meetings/<uuid:public_id>/bookmarks/<int:bookmark_id>/delete/",
        views_bookmarks.bookmark_delete,
        name="bookmark-delete",
    ),
]

# --- Action items people work with (issue 20, part 1) -------------------------------------------
from meetings import views_action_items  # noqa: E402

urlpatterns += [
    path("action-items/", views_action_items.my_action_items, name="my-action-items"),
    path(
        "meetings/<uuid:public_id>/action-items/<int:item_id>/",
        views_action_items.action_item,
        name="action-item",
    ),
    path(
        "meetings/<uuid:public_id>/action-items/<int:item_id>/edit/",
        views_action_items.action_item_edit,
        name="action-item-edit",
    ),
]

# --- Sharing (issue 20) ----------------------------------------------------------------------
from meetings import views_sharing  # noqa: E402

urlpatterns += [
    path("meetings/<uuid:public_id>/sharing/", views_sharing.sharing_panel, name="sharing"),
    path("meetings/<uuid:public_id>/sharing/users/", views_sharing.sharing_user_add, name="sharing-user-add"),
    path(
        "meetings/<uuid:public_id>/sharing/users/revoke/",
        views_sharing.sharing_user_revoke,
        name="sharing-user-revoke",
    ),
    path("meetings/<uuid:public_id>/sharing/links/", views_sharing.share_link_add, name="share-link-add"),
    path(
        "meetings/<uuid:public_id>/sharing/links/revoke/",
        views_sharing.share_link_revoke,
        name="share-link-revoke",
    ),
    path("notes/<str:token>/", views_sharing.shared_notes, name="shared-notes"),
]
