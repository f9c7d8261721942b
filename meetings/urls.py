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
