"""Linguistic cues for action items and decisions in spoken English (pure: no Django).

Each cue is a named regular expression; :func:`cue_vector` turns a sentence into 0/1 features in
the fixed order of :data:`ACTION_CUES` + :data:`DECISION_CUES` + :data:`CONTEXT_CUES`, the input
of the trained detector (:mod:`meetings.summarizer.detector`) beside the sentence embedding.
:func:`is_action_candidate` and :func:`is_decision_candidate` are the cheap, high-recall first
stage: only sentences they pass are embedded and scored.

The cues describe *how* something is said (commitment, request, modality, tense, addressee,
agreement, meeting-flow), never a domain's words, so they carry over from the labelled meetings
(design teams, research groups, committees) to any meeting.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _I)


# --- the first stage: could this sentence be a task or a decision at all? ---------------------
_SUBJECT = r"(?:i|we|you|he|she|they|someone|somebody|everyone|everybody|[a-z]+ (?:designer|expert|interface|manager|team|committee|group))"
_MODAL = _rx(
    _SUBJECT + r"(?:'ll| will| won't| shall|'re going to| are going to|'m going to| am going to| is going to|"
    r"'s going to|'re gonna| are gonna|'m gonna|'s gonna| have to| has to| need to| needs to| should|"
    r"'d better| must| can| could| may| might| want to| wanna| got to| gotta| 've got to| plan to|"
    r" intend to| promise| try to| 'd like to| would like to|'m happy to| am happy to|'d be happy to|"
    r" would be happy to|'m glad to)\b"
    r"|\b(?:let's|let us|let me|please|can you|could you|would you|will you|why don't you|make sure|"
    r"action (?:item|point)|to-?do|homework|look into|find out|follow up|get back to|come back to|"
    r"write to|let (?:you|them|us|him|her|everyone|everybody|me) know|in charge of|responsible for|"
    r"(?:designer|expert|interface|manager|marketing),? you)\b"
)
_FUTURE_TIME = _rx(
    r"\b(?:next (?:meeting|time|week|month|session)|tomorrow|tonight|later|soon|by (?:the )?"
    r"(?:end|monday|tuesday|wednesday|thursday|friday|then)|after (?:lunch|the meeting|this)|"
    r"this afternoon|this week|in the (?:coming|next) (?:days?|weeks?))\b"
)
_DECISION_WORDS = _rx(
    r"\b(?:decide[ds]?|decision|agree[ds]?|agreed|agreement|go (?:with|for)|going (?:with|for)|"
    r"settle[ds]?|choose|chose|chosen|pick(?:ed)?|opt(?:ed)? for|stick (?:with|to)|"
    r"so (?:we|it)|it(?:'s| is) (?:going to be|gonna be)|we(?:'ll| will) (?:have|use|make|do|go|keep)|"
    r"fine|okay|ok|alright|sounds good|that's it|final|conclusion|let's|we should|we could|"
    r"we can|we want|we need|we have to|we'll|we will|we're going|yes|yeah)\b"
)

ACTION_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("i_commit", _rx(r"\b(?:i(?:'ll| will| shall)|i(?:'m| am) (?:going to|gonna)|i can|i could|let me)\b")),
    ("i_obliged", _rx(r"\bi (?:have to|need to|must|should|ought to|'ve got to|got to)\b")),
    (
        "i_happy",
        _rx(r"\bi(?:'d| would)? ?(?:be )?(?:happy|glad|delighted) to\b|\bi(?:'m| am) (?:happy|glad) to\b"),
    ),
    ("we_commit", _rx(r"\bwe(?:'ll| will| shall)|we(?:'re| are) (?:going to|gonna)\b")),
    ("we_obliged", _rx(r"\bwe (?:have to|need to|must|should|ought to|'ve got to|got to)\b")),
    ("we_can", _rx(r"\bwe (?:can|could|might|may)\b")),
    ("lets", _rx(r"\blet(?:'s| us)\b")),
    ("you_future", _rx(r"\byou(?:'ll| will|'re (?:going to|gonna)| are (?:going to|gonna))\b")),
    (
        "you_obliged",
        _rx(r"\byou (?:have to|need to|must|should|ought to|'ve got to|might want to|may want to)\b"),
    ),
    ("you_can", _rx(r"\byou (?:can|could|might|may)\b")),
    (
        "request",
        _rx(r"\b(?:can|could|would|will) you\b|\bwhy don't you\b|\bif you (?:could|can|would)\b|\bplease\b"),
    ),
    (
        "role_will",
        _rx(
            r"\b(?:designer|marketing|manager|expert|interface|secretary|minister|officials?|team|committee|clerk)\s+(?:will|is going to|are going to|'ll|should|has to|needs to)\b"
        ),
    ),
    (
        "named_will",
        re.compile(r"\b[A-Z][a-z]+(?:'s| is| will| 's)\s+(?:going to|gonna|will|working on|to)\b"),
    ),
    ("future_time", _FUTURE_TIME),
    (
        "task_verb",
        _rx(
            r"\b(?:send|e-?mail|mail|write|draft|prepare|check|find out|look (?:into|at)|work (?:on|out)|"
            r"contact|ask|talk to|get in touch|circulate|share|update|report|present|provide|"
            r"run|test|implement|fix|set up|organi[sz]e|arrange|schedule|book|review|"
            r"investigate|research|come back|get back|follow up|pass (?:on|them on)|raise|"
            r"confirm|compile|finish|complete|build|design|model|put)\b"
        ),
    ),
    (
        "to_committee",
        _rx(
            r"\b(?:write to|write back|come back to|get back to|let (?:you|the committee|members) know|"
            r"inform|update (?:the )?(?:committee|members|you)|provide (?:the committee|members|you))\b"
        ),
    ),
    (
        "commit_task",
        _rx(
            r"\b(?:i|we|you|he|she|they|[a-z]+ (?:designer|expert|interface|manager))"
            r"(?:'ll| will| shall|'re going to| are going to|'m going to| am going to| is going to|'s going to|"
            r"'re gonna| are gonna|'m gonna| have to| need to| can| could)\s+(?:\w+\s+){0,2}?"
            r"(?:send|e-?mail|mail|write|draft|prepare|check|find|look|work|contact|ask|talk|circulate|"
            r"share|update|report|provide|run|test|implement|fix|set|organi[sz]e|arrange|schedule|book|"
            r"review|investigate|research|get back|come back to you|follow|pass|raise|confirm|"
            r"compile|finish|complete|build|design|model|make|put|bring|give|try|let you know|"
            r"think about|figure|sort|do)\b"
        ),
    ),
    (
        "let_know",
        _rx(
            r"\b(?:let (?:you|them|him|her|us|everyone|everybody) know|get back to|keep (?:you|the committee) (?:informed|updated)|come back to (?:you|the committee|members))\b"
        ),
    ),
    ("action_word", _rx(r"\b(?:action (?:item|point)s?|to-?do|homework|task|assignment|responsib)\w*")),
)
DECISION_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "decided",
        _rx(r"\b(?:we(?:'ve| have)? (?:all )?(?:decided|agreed)|decision is|it(?:'s| is) decided|agreed)\b"),
    ),
    (
        "go_with",
        _rx(
            r"\b(?:go(?:ing)? (?:with|for)|settle[ds]? (?:on|for)|stick (?:with|to)|opt(?:ed)? for|choose|chosen|pick)\b"
        ),
    ),
    ("so_we", _rx(r"^(?:so|okay so|ok so|alright so|right so)\b|\bso we(?:'ll| will|'re| are)?\b")),
    (
        "it_will_be",
        _rx(r"\b(?:it|that|the \w+)(?:'ll| will| is going to| 's going to|'s gonna| is gonna) be\b"),
    ),
    (
        "we_use",
        _rx(
            r"\bwe(?:'ll| will| should| can| are going to|'re going to) (?:use|have|make|do|keep|put|include|go|take)\b"
        ),
    ),
    ("lets_do", _rx(r"\blet(?:'s| us) (?:use|have|make|do|keep|put|include|go|take|say|stick|try)\b")),
    (
        "agreement_words",
        _rx(
            r"\b(?:agree|agreed|consensus|fine|sounds good|makes sense|good idea|definitely|exactly|absolutely)\b"
        ),
    ),
    ("final", _rx(r"\b(?:final(?:ly)?|conclusion|conclude|in the end|then)\b")),
)
CONTEXT_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("question", _rx(r"\?\s*$")),
    (
        "hypothetical",
        _rx(
            r"^(?:if|when|whether|suppose|say|imagine|maybe if)\b|\b(?:if we|if you|if i|would be|would have|could be)\b"
        ),
    ),
    (
        "past",
        _rx(
            r"\b(?:did|was|were|had|already|yesterday|last (?:time|week|meeting)|ago|previously|have been|'ve been|decided on)\b"
        ),
    ),
    (
        "flow",
        _rx(
            r"\b(?:slides?|move on|go on to|next (?:item|point|slide|question)|agenda|wrap (?:it )?up|"
            r"microphones?|mics?|hand (?:it )?over|presentation|hear me|speak up|digits|introduce|"
            r"start(?:ed)? with|let me (?:just )?(?:say|show|ask|explain|see|think|finish)|"
            r"i'll (?:just )?(?:say|show|ask|explain|start|begin|stop|move|go|leave it|try to explain)|"
            r"in private|papers to note|standing order)\b"
        ),
    ),
    (
        "flow_later",
        _rx(
            r"\b(?:come back to (?:that|this|it|your|the \w+ (?:later|in a))|go (?:into|through|over) (?:that|this|it)|"
            r"(?:we'll|we will|let's) (?:see|talk about (?:that|this) later|get (?:to|into) that)|"
            r"(?:take|put) (?:your|the) (?:headsets?|mics?)|go (?:back )?to (?:your|the) (?:seat|desk|office)|"
            r"show you|present (?:my|our|the) (?:slides?|presentation)|i'll (?:just )?(?:pass|hand)|"
            r"over to you|next (?:person|speaker)|questions from)\b"
        ),
    ),
    (
        "generic_future",
        _rx(
            r"\b(?:there(?:'ll| will) be|it(?:'ll| will|'s going to| is going to|'s gonna) (?:be|have|take|cost|need)|they(?:'ll| will) (?:be|have|need|want))\b"
        ),
    ),
    ("if_clause", _rx(r"\bif\b|\bunless\b|\bwhether\b|\bsuppose\b")),
    ("hedge", _rx(r"\b(?:maybe|perhaps|probably|possibly|i guess|i think|i don't know|might)\b")),
    ("negation", _rx(r"\b(?:not|n't|never|no)\b")),
    ("first_person", _rx(r"\b(?:i|i'm|i'll|i've|i'd|me|my)\b")),
    ("second_person", _rx(r"\b(?:you|your|you'll|you're)\b")),
    ("we", _rx(r"\b(?:we|we'll|we're|we've|us|our|let's)\b")),
)
ACCEPTANCE = _rx(
    r"^\W*(?:yes|yeah|yep|yup|sure|ok|okay|right|alright|all right|of course|certainly|fine|"
    r"will do|i will|i'll|i can|no problem|absolutely|definitely|agreed|i agree|good|great|"
    r"sounds good|that's fine|that's good|exactly|mm-hmm|uh-huh|cool)\b"
)
REFUSAL = _rx(r"^\W*(?:no\b|nope|i don't think so|i can't|i cannot|not really|i disagree)")
FEATURE_NAMES: tuple[str, ...] = tuple(
    name for name, _pattern in (*ACTION_CUES, *DECISION_CUES, *CONTEXT_CUES)
)


def cue_vector(sentence: str) -> list[float]:
    """0/1 per cue, in :data:`FEATURE_NAMES` order."""
    return [
        1.0 if pattern.search(sentence) else 0.0
        for _name, pattern in (*ACTION_CUES, *DECISION_CUES, *CONTEXT_CUES)
    ]


def is_action_candidate(sentence: str) -> bool:
    """The cheap first stage for action items: a modal, future or task construction."""
    return bool(_MODAL.search(sentence) or _FUTURE_TIME.search(sentence))


def is_decision_candidate(sentence: str) -> bool:
    """The cheap first stage for decisions: a decision, agreement or plan construction."""
    return bool(_DECISION_WORDS.search(sentence))


CUE: dict[str, re.Pattern[str]] = dict((*ACTION_CUES, *DECISION_CUES, *CONTEXT_CUES))
