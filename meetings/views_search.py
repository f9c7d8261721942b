"""Dashboard pages of the API/search feature: full-text search and the user's API token."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.authtoken.models import Token

from meetings import search

SEARCH_PAGE_LIMIT = 50


@require_GET
@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    """``GET /search/?q=words``: hits in the meetings the user can see, linked to the moment."""
    query = request.GET.get("q", "").strip()[:200]
    hits = search.search(user=request.user, query=query, limit=SEARCH_PAGE_LIMIT) if query else []
    return render(
        request,
        "meetings/search.html",
        {
            "query": query,
            "hits": hits,
            "limit": SEARCH_PAGE_LIMIT,
            "searchable": bool(search.query_words(query)),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def api_token(request: HttpRequest) -> HttpResponse:
    """``GET`` shows the user's REST API token; ``POST action=create`` makes (or replaces) it,
    ``POST action=revoke`` deletes it."""
    if request.method == "POST":
        action = request.POST.get("action")
        Token.objects.filter(user=request.user).delete()
        if action == "create":
            Token.objects.create(user=request.user)
        return redirect("meetings:api-token")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "meetings/api_token.html", {"token": token})
