"""Styled error pages with the site's navigation, and the favicon (issue 20's small defects).

Django renders ``404.html`` / ``403.html`` / ``500.html`` when ``DEBUG`` is off (the test
settings). ``500.html`` is rendered with no context at all (no request, no user): it must still
render, navigation included.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import include, path

from tests.factories import MeetingFactory


def _boom(request):
    raise RuntimeError("a bug")


def _forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("boom/", _boom),
    path("forbidden/", _forbidden),
    path("", include("rtms_assistant.urls")),
]


def assert_has_navigation(html: str) -> None:
    assert 'class="site-header"' in html
    assert 'href="/"' in html  # back to the meetings
    assert 'href="/search/"' in html
    assert 'name="viewport"' in html  # styled for phones too, like every page
    assert "/static/css/app.css" in html


@pytest.mark.django_db
def test_404_page_is_styled_with_navigation_and_log_out(client, user):
    client.force_login(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert_has_navigation(html)
    assert "Page not found" in html
    assert "Log out" in html


@pytest.mark.django_db
def test_404_for_someone_elses_meeting_says_nothing_about_it(client, user):
    theirs = MeetingFactory(topic="Secret merger")
    client.force_login(user)
    response = client.get(theirs.get_absolute_url())
    assert response.status_code == 404
    html = response.content.decode()
    assert_has_navigation(html)
    assert "Secret merger" not in html


@pytest.mark.django_db
def test_404_logged_out_offers_the_login(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert 'href="/accounts/login/"' in response.content.decode()


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_403_page_is_styled_with_navigation(client, user):
    client.force_login(user)
    response = client.get("/forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_has_navigation(html)
    assert "Access denied" in html


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_500_page_is_styled_with_navigation(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert_has_navigation(html)
    assert "Something went wrong" in html
    assert "a bug" not in html  # no internals


def test_500_template_renders_without_any_context():
    """Django's ``server_error`` renders with no request: nothing in base.html may need one."""
    html = render_to_string("500.html")
    assert_has_navigation(html)


def test_every_page_links_the_favicon():
    html = render_to_string("500.html")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_icon_which_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)
