"""Who owns an action item (meetings/summarizer/owners.py): committer, addressee, group, unknown."""

from __future__ import annotations

import pytest

from meetings.summarizer import owners
from meetings.summarizer.types import Person, Utterance


def resolve(sentence, *, before=(), after=(), speaker="Project Manager", participants=()):
    utterances = [*before, Utterance(50, speaker, 1, 0, sentence), *after]
    people = owners.directory(
        utterances,
        participants or [Person(n) for n in ("Project Manager", "Marketing", "Industrial Designer")],
    )
    return owners.resolve_owner(sentence, position=len(before), utterances=utterances, people=people)


def test_first_person_commitment_is_the_speaker():
    owner = resolve("I'll send the minutes round tonight.")
    assert (owner.kind, owner.name) == (owners.SPEAKER, "Project Manager")


def test_a_role_assigned_work_owns_it():
    owner = resolve("The industrial designer will work on the components design.")
    assert (owner.kind, owner.name) == (owners.THIRD_PARTY, "Industrial Designer")


def test_addressed_by_name():
    owner = resolve("Marketing, can you look at the trends?")
    assert (owner.kind, owner.name) == (owners.ADDRESSEE, "Marketing")


@pytest.mark.parametrize(
    "sentence",
    ["We need to check the cost.", "Let's all read the paper.", "Everybody should e-mail me their slides."],
)
def test_the_group_is_its_own_owner(sentence):
    owner = resolve(sentence)
    assert (owner.kind, owner.name) == (owners.GROUP, owners.GROUP_NAME)


def test_a_request_to_you_goes_to_whoever_accepts():
    owner = resolve(
        "Could you send me the draft?",
        after=[Utterance(51, "Marketing", 2, 1000, "Sure, will do.")],
    )
    assert (owner.kind, owner.name) == (owners.ADDRESSEE, "Marketing")


def test_a_request_nobody_takes_stays_unknown_rather_than_wrong():
    owner = resolve(
        "Could you send me the draft?",
        before=[Utterance(48, "Marketing", 2, 0, "The draft is nearly done.")],
        after=[Utterance(51, "Industrial Designer", 3, 1000, "What about the battery?")],
    )
    assert (owner.kind, owner.name) == (owners.UNKNOWN, "")


def test_two_people_are_not_guessed():
    assert resolve("You two will build the prototype together.").kind == owners.UNKNOWN
