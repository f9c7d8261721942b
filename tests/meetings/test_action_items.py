"""Action items people work with (issue 20, part 1): the service, the selectors, the page views
(htmx inline editing, no-JS forms), the live push, "My action items", the list's open counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from meetings import live
from meetings.models import ActionItem, Summary, ZoomIdentity
from meetings.selectors.action_items import action_item_list_for_user
from meetings.selectors.meetings import meeting_row_get
from meetings.services.action_items import ActionItemError, action_item_update
from tests.factories import MeetingFactory, ParticipantFactory, TranscriptSegmentFactory

pytestmark = pytest.mark.backends


def make_items(
    meeting, texts=("Send the budget", "Book the room", "Write notes"), **fields
) -> list[ActionItem]:
    """A ready summary of ``meeting`` with one generated action item per text."""
    revision = Summary.objects.filter(meeting=meeting).count()  # one summary per revision
    summary = Summary.objects.create(
        meeting=meeting, status=Summary.Status.READY, transcript_revision=revision
    )
    segment = TranscriptSegmentFactory(meeting=meeting)
    return [
        ActionItem.objects.create(
            summary=summary,
            meeting=meeting,
            position=i,
            text=text,
            generated_text=text,
            source_segment=segment,
            **fields,
        )
        for i, text in enumerate(texts)
    ]


@pytest.fixture
def pushed(monkeypatch):
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(live, "push", lambda meeting_id, html, seq=0: sent.append((meeting_id, html)))
    monkeypatch.setattr(live, "push_list", lambda user_ids, html: sent.append((tuple(user_ids), html)))
    return sent


def item_url(item: ActionItem, suffix: str = "") -> str:
    return (
        reverse("meetings:action-item", kwargs={"public_id": item.meeting.public_id, "item_id": item.pk})
        + suffix
    )


# --- service ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ticking_and_reopening_sets_and_clears_completed_at(
    meeting, user, pushed, django_capture_on_commit_callbacks
):
    item = make_items(meeting)[0]
    with django_capture_on_commit_callbacks(execute=True):
        done = action_item_update(item=item, user=user, status="done")
    assert (done.status, done.edited_by) == ("done", user)
    assert done.completed_at is not None
    assert done.edited_at is not None
    html = "".join(h for _, h in pushed)
    assert f'id="action-item-{item.pk}"' in html
    assert 'hx-swap-oob="true"' in html
    assert "status-done" in html
    assert any(isinstance(target, tuple) and "2 open items" in h for target, h in pushed)  # the list row

    reopened = action_item_update(item=item, user=user, status="open")
    assert (reopened.status, reopened.completed_at) == ("open", None)


@pytest.mark.django_db
def test_owner_is_a_participant_or_a_user_who_can_see_the_meeting(meeting, user, other_user):
    item = make_items(meeting)[0]
    ada = ParticipantFactory(meeting=meeting, display_name="Ada")
    stranger_participant = ParticipantFactory(display_name="Elsewhere")

    item = action_item_update(item=item, user=user, owner_participant_id=ada.pk)
    assert (item.owner, item.assignee, item.owner_label, item.owner_kind) == (ada, None, "Ada", "")
    with pytest.raises(ActionItemError, match="participant of this meeting"):
        action_item_update(item=item, user=user, owner_participant_id=stranger_participant.pk)
    with pytest.raises(ActionItemError, match="can see this meeting"):
        action_item_update(item=item, user=user, assignee_id=other_user.pk)  # not shared

    meeting.shared_with.add(other_user)
    item = action_item_update(item=item, user=user, assignee_id=other_user.pk)
    assert (item.owner, item.assignee, item.owner_label) == (None, other_user, other_user.username)
    item = action_item_update(item=item, user=user, owner_participant_id=None)
    assert (item.owner, item.assignee, item.owner_label) == (None, None, "")


@pytest.mark.django_db
def test_bad_values_are_refused_and_nothing_is_saved(meeting, user):
    item = make_items(meeting, due_text="by Friday")[0]
    for change in ({"text": "   "}, {"text": "x" * 2001}, {"status": "finished"}, {"due_date": "tomorrow"}):
        with pytest.raises(ActionItemError):
            action_item_update(item=item, user=user, **change)
    item.refresh_from_db()
    assert (item.text, item.status, item.edited_at, item.due_text) == (
        "Send the budget",
        "open",
        None,
        "by Friday",
    )


@pytest.mark.django_db
def test_redating_replaces_what_was_said(meeting, user):
    item = make_items(meeting, due_text="by Friday")[0]
    item = action_item_update(item=item, user=user, due_date=dt.date(2027, 1, 5))
    assert (item.due_date, item.due_text) == (dt.date(2027, 1, 5), "")


# --- page views -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_meeting_page_shows_editable_items(client, user, meeting):
    items = make_items(meeting)
    client.force_login(user)
    body = client.get(meeting.get_absolute_url()).content.decode()
    assert body.count('class="action-item status-open') == 3
    assert f'hx-post="{item_url(items[0])}"' in body
    assert f'hx-get="{item_url(items[0], "edit/")}"' in body


@pytest.mark.django_db
def test_htmx_tick_answers_the_item_and_pushes_it(
    client, user, meeting, pushed, django_capture_on_commit_callbacks
):
    item = make_items(meeting)[0]
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(item_url(item), {"status": "done"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'class="action-item status-done edited"' in response.content.decode()
    assert "checked" in response.content.decode()
    assert any(f'id="action-item-{item.pk}"' in html for mid, html in pushed if mid == meeting.pk)


@pytest.mark.django_db
def test_edit_form_then_save_text_owner_and_date(client, user, meeting):
    item = make_items(meeting)[0]
    ada = ParticipantFactory(meeting=meeting, display_name="Ada")
    client.force_login(user)
    form = client.get(item_url(item, "edit/"), headers={"HX-Request": "true"}).content.decode()
    assert f'id="action-item-{item.pk}-edit"' in form
    assert f'value="p:{ada.pk}"' in form
    assert f'value="u:{user.pk}"' in form  # the owner of the meeting can be assigned

    response = client.post(
        item_url(item),
        {"edit": "1", "text": "Send the final budget", "owner": f"p:{ada.pk}", "due_date": "2027-02-01"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.text, item.owner_id, item.due_date) == ("Send the final budget", ada.pk, dt.date(2027, 2, 1))
    assert '<time datetime="2027-02-01">' in response.content.decode()


@pytest.mark.django_db
def test_bad_input_is_a_400_with_the_reason_and_nothing_changes(client, user, meeting):
    item = make_items(meeting)[0]
    client.force_login(user)
    htmx = client.post(item_url(item), {"due_date": "31/12/2026"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert "due date" in htmx.content.decode()
    plain = client.post(item_url(item), {"edit": "1", "text": "", "owner": "", "due_date": ""})
    assert plain.status_code == 400
    assert "cannot be empty" in plain.content.decode()
    assert "<form" in plain.content.decode()
    other = client.post(item_url(item), {"owner": "x:1"}, headers={"HX-Request": "true"})
    assert other.status_code == 400
    item.refresh_from_db()
    assert (item.text, item.edited_at) == ("Send the budget", None)


@pytest.mark.django_db
def test_without_javascript_a_post_redirects_back_to_the_item(client, user, meeting):
    item = make_items(meeting)[0]
    client.force_login(user)
    response = client.post(item_url(item), {"status": "done"})
    assert response.status_code == 302
    assert response.url == f"{meeting.get_absolute_url()}#action-item-{item.pk}"
    assert client.get(item_url(item, "edit/")).status_code == 200  # a full page with the form


@pytest.mark.django_db
def test_a_stranger_gets_404_and_changes_nothing(client, meeting, other_user):
    item = make_items(meeting)[0]
    client.force_login(other_user)
    for response in (
        client.get(item_url(item), headers={"HX-Request": "true"}),
        client.get(item_url(item, "edit/")),
        client.post(item_url(item), {"status": "done", "text": "pwned"}),
    ):
        assert response.status_code == 404
        assert b"Send the budget" not in response.content
    item.refresh_from_db()
    assert (item.status, item.text) == ("open", "Send the budget")
    # an item id of another meeting under a meeting one may see is a 404 too
    mine = MeetingFactory(owner=other_user)
    wrong = reverse("meetings:action-item", kwargs={"public_id": mine.public_id, "item_id": item.pk})
    assert client.post(wrong, {"status": "done"}).status_code == 404


# --- my action items, the list's open counts ---------------------------------------------------


@pytest.mark.django_db
def test_my_action_items_open_first_by_due_date_across_meetings(client, user, other_user):
    ZoomIdentity.objects.create(user=user, zoom_user_id="zoom-me")
    first, second = (
        MeetingFactory(owner=user, topic="Planning"),
        MeetingFactory(owner=other_user, topic="Retro"),
    )
    second.shared_with.add(user)
    me_in_second = ParticipantFactory(meeting=second, zoom_user_id="zoom-me", display_name="Me")
    late, soon, undated = make_items(first, texts=("Late task", "Soon task", "Undated task"))
    said, _someone_else = make_items(second, texts=("Said in the retro", "Not mine"))
    for item, due in ((late, dt.date(2027, 3, 1)), (soon, dt.date(2027, 1, 1)), (undated, None)):
        action_item_update(item=item, user=user, assignee_id=user.pk, due_date=due)
    ActionItem.objects.filter(pk=said.pk).update(owner=me_in_second)  # said to be mine (Zoom id)
    action_item_update(item=soon, user=user, status="done")
    hidden = MeetingFactory(owner=other_user, topic="Not shared")
    ActionItem.objects.filter(pk=make_items(hidden, texts=("Secret",))[0].pk).update(assignee=user)

    items = action_item_list_for_user(user=user)
    assert [i.text for i in items] == ["Late task", "Said in the retro", "Undated task", "Soon task"]
    client.force_login(user)
    body = client.get(reverse("meetings:my-action-items")).content.decode()
    assert "Secret" not in body
    assert "Not mine" not in body
    assert body.index("Late task") < body.index("Undated task") < body.index("Soon task")
    assert f'href="{first.get_absolute_url()}#action-item-{late.pk}"' in body
    assert "3 open" in body
    assert 'href="/action-items/"' in body  # the nav link
    done_only = client.get(reverse("meetings:my-action-items") + "?status=done").content.decode()
    assert "Soon task" in done_only
    assert "Late task" not in done_only


@pytest.mark.django_db
def test_meetings_list_shows_open_item_counts_of_the_current_summary(client, user, meeting):
    old = make_items(meeting, texts=("Old one",))
    items = make_items(meeting)  # a newer ready summary: its items are the current ones
    action_item_update(item=items[0], user=user, status="done")
    assert old[0].summary_id != items[0].summary_id
    client.force_login(user)
    body = client.get(reverse("meetings:list")).content.decode()
    assert "2 open items" in body
    assert meeting_row_get(meeting_id=meeting.pk).open_action_items == 2
