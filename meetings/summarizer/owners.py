"""Who will do an action item (pure: no Django).

:func:`resolve_owner` reads the sentence that states the task and the turns around it and
returns an :class:`Owner`: a person (the committer, the addressee or a named third person), the
group, or unknown. It prefers unknown to a guess: a request to "you" with no reply and nobody
named stays unknown. Rules (labels/notes/GUIDELINE.md, "Owner rules"), first match wins:

1. a person named as the doer ("ask Maria to ...", "the industrial designer will ...");
2. a person addressed by name ("Bob, can you ...", "..., Hefin?");
3. a request that opens with "you" ("could you ...", "you'll ...", "please ...") → the next
   other speaker when they accept ("Will do"), else the other speaker of a two-way exchange
   (the turn before was theirs and this answers it), else unknown;
4. a first-person singular commitment ("I'll", "I can", "let me", "I'm going to") → the speaker;
5. the group: "we", "let's", "everybody", "you all", "you guys", "you three";
6. "you" elsewhere in the sentence → as in 3;
7. unknown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from meetings.summarizer.cues import ACCEPTANCE
from meetings.summarizer.types import Person, Utterance

SPEAKER = "speaker"
ADDRESSEE = "addressee"
THIRD_PARTY = "third_party"
GROUP = "group"
UNKNOWN = "unknown"
GROUP_NAME = "Everyone"  # what the page shows for a group task

_I = re.IGNORECASE
_FIRST_PERSON = re.compile(
    r"\b(?:i(?:'ll| will| shall| can| could)|i(?:'m| am) (?:going to|gonna|happy to|glad to|\w+ing)|let me|"
    r"i(?:'d| would) (?:be )?(?:happy|glad) to|i(?:'d| would) (?:like|love) to|i (?:have to|need to|must|should|"
    r"'ve got to|got to|try to|want to|wanna|promise|plan to|intend to|hope to|was planning to|was going to)|"
    r"my (?:plan|job|task|first \w+) is)\b",
    _I,
)
_REQUEST = re.compile(
    r"^(?:\w+,\s*)?(?:(?:so|and|but|then|well|okay|ok|maybe|perhaps|just)[, ]+)*"
    r"(?:(?:can|could|would|will) you|why don't you|you(?:'ll| will|'re going to| are going to|'re gonna| should| need to| have to| might want to| could| can)|please)\b",
    _I,
)
_GROUP = re.compile(
    r"\b(?:we(?:'ll| will| shall| should| need| have to| must| can| could|'re going| are going)|let(?:'s| us)|"
    r"everybody|everyone|all of us|each of you|you all|you guys|all of you|you three|you four|"
    r"the (?:team|group|committee) (?:will|should|needs? to|has to))\b",
    _I,
)
_ASK_NAMED = re.compile(r"\b(?:ask|remind|tell|get|have)\s+(?P<name>[A-Z][a-z]+)\s+to\b")
_YOU_TWO = re.compile(r"\byou two\b|\bboth of you\b", _I)
_YOU = re.compile(r"\b(?:you|your)\b|^(?:please|just)\b", _I)
_VOCATIVE_START = re.compile(r"^\W*([A-Z][\w'-]+(?: [A-Z][\w'-]+)?)\s*,")
_VOCATIVE_END = re.compile(r",\s*([A-Z][\w'-]+)\s*[.?!]?\s*$")
_NOT_NAMES = frozenset(
    [
        "okay",
        "ok",
        "so",
        "right",
        "well",
        "yes",
        "yeah",
        "please",
        "and",
        "but",
        "now",
        "then",
        "alright",
        "sure",
        "no",
        "yep",
        "um",
        "uh",
        "oh",
        "i",
        "actually",
        "anyway",
        "also",
        "fine",
        "good",
        "great",
        "thanks",
        "thank",
        "sorry",
        "hmm",
    ]
)
_ROLE_WORDS = {
    "designer": "designer",
    "industrial": "industrial designer",
    "interface": "user interface",
    "ui": "user interface",
    "marketing": "marketing",
    "manager": "project manager",
}


@dataclass(frozen=True)
class Owner:
    """``kind`` is one of speaker, addressee, third_party, group, unknown; ``person`` when known."""

    kind: str
    person: Person | None = None

    @property
    def name(self) -> str:
        if self.kind == GROUP:
            return GROUP_NAME
        return self.person.name if self.person else ""


def directory(utterances: Sequence[Utterance], participants: Sequence[Person] = ()) -> dict[str, Person]:
    """Known people by lower-cased full name, first name and role keywords (AMI roles)."""
    people: dict[str, Person] = {}
    everyone = [*participants, *(Person(u.speaker, u.participant_id) for u in utterances if u.speaker)]
    for person in everyone:
        name = person.name.strip()
        if not name:
            continue
        keys = {name.lower(), name.split()[0].lower()}
        lowered = name.lower()
        for word, role in _ROLE_WORDS.items():
            if role in lowered or word == lowered:
                keys.add(word)
        for key in keys:
            if key in _NOT_NAMES:
                continue
            if key not in people or (people[key].participant_id is None and person.participant_id):
                people[key] = person
    return people


def _named_doer(sentence: str, people: dict[str, Person], speaker: str) -> Person | None:
    """A known person or role that is the subject of a task in the sentence."""
    for key, person in people.items():
        if person.name == speaker:
            continue
        pattern = rf"\b(?:the |our |for (?:the )?|as (?:the )?|ask |tell |remind |get )?{re.escape(key)}\b(?:[\w ]{{0,20}}?)\s*(?:,\s*you|will|'ll|is going to|'s going to|'s gonna|is gonna|are going to|should|has to|needs to|to\b|can|could|is working|'s working)"
        if re.search(pattern, sentence, _I):
            return person
    return None


def _vocative(sentence: str, people: dict[str, Person]) -> Person | None:
    for pattern in (_VOCATIVE_START, _VOCATIVE_END):
        match = pattern.search(sentence)
        if match and match.group(1).lower() not in _NOT_NAMES:
            person = people.get(match.group(1).lower()) or people.get(match.group(1).split()[0].lower())
            if person is not None:
                return person
    return None


def resolve_owner(
    sentence: str,
    *,
    position: int,
    utterances: Sequence[Utterance],
    people: dict[str, Person],
) -> Owner:
    """The owner of the task stated in ``sentence`` (said in ``utterances[position]``)."""
    speaker = utterances[position].speaker
    asked = _ASK_NAMED.search(sentence)
    if asked and asked.group("name").lower() not in _NOT_NAMES:
        name = asked.group("name")
        return Owner(THIRD_PARTY, people.get(name.lower(), Person(name)))
    named = _named_doer(sentence, people, speaker)
    if named is not None:
        return Owner(ADDRESSEE if re.search(r"\byou\b", sentence, _I) else THIRD_PARTY, named)
    addressed = _vocative(sentence, people)
    if addressed is not None and addressed.name != speaker:
        return Owner(ADDRESSEE, addressed)
    if _YOU_TWO.search(sentence):
        return Owner(UNKNOWN)
    if _REQUEST.search(sentence):
        responder = _responder(position, utterances)
        return Owner(ADDRESSEE, responder) if responder is not None else Owner(UNKNOWN)
    if _FIRST_PERSON.search(sentence) and speaker:
        return Owner(
            SPEAKER, people.get(speaker.lower(), Person(speaker, utterances[position].participant_id))
        )
    if _GROUP.search(sentence):
        return Owner(GROUP)
    if _YOU.search(sentence):
        responder = _responder(position, utterances)
        if responder is not None:
            return Owner(ADDRESSEE, responder)
    return Owner(UNKNOWN)


def _responder(position: int, utterances: Sequence[Utterance]) -> Person | None:
    """The next other speaker when their reply accepts, else the partner of a two-way exchange."""
    speaker = utterances[position].speaker
    for following in utterances[position + 1 : position + 3]:
        if following.speaker and following.speaker != speaker:
            if ACCEPTANCE.search(following.text):
                return Person(following.speaker, following.participant_id)
            break
    previous = next(
        (
            u
            for u in reversed(utterances[max(0, position - 2) : position])
            if u.speaker and u.speaker != speaker
        ),
        None,
    )
    following = next(
        (u for u in utterances[position + 1 : position + 3] if u.speaker and u.speaker != speaker), None
    )
    if previous is not None and following is not None and previous.speaker == following.speaker:
        return Person(previous.speaker, previous.participant_id)
    return None
