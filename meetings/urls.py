from __future__ import annotations

from django.urls import path

from meetings import views, views_search, views_summary

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
