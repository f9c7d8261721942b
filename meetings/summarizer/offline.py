"""The offline summarizer: extractive, grounded, no download and no key (pure: no Django).

``summarize(utterances, ...)`` returns a :class:`SummaryResult` built from what was said:

* **topics** (:mod:`.topics`): the meeting cut into contiguous topics, each with a short title
  and 1-3 cleaned key sentences (:func:`.text.clean_sentence`; fragments never shown);
* **overview**: 2-4 sentences: which topics the meeting covered, then the best-ranked complete
  sentences of the meeting (sumy LSA + Luhn, :mod:`.ranking`);
* **key points**: the first key sentence of each topic (the page shows all of them under their
  topic; this short list is what exports and ROUGE read);
* **action items and decisions** (:mod:`.detector`): a model trained on labelled real meetings
  (``labels/notes/``), with owners (:mod:`.owners`) and due dates (:mod:`.dates`).

Each step runs on its own: a step that fails is logged and left empty, and the note says which
part is missing; the rest of the summary is still made. Cost: a 1-hour meeting (~9,000 words)
takes ~1-3 s on one core, most of it embedding the detector's candidates
(``python -m bench --only notes``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from meetings.summarizer import detector, ranking, text, topics
from meetings.summarizer.types import (
    INSUFFICIENT,
    NOT_ENOUGH_TEXT,
    READY,
    Item,
    Person,
    SummaryResult,
    Utterance,
)

logger = logging.getLogger(__name__)
BACKEND = "offline"
MODEL = "extractive notes"
OVERVIEW_SENTENCES = 2  # ranked sentences after the "covered" sentence
OVERVIEW_TOPICS = 4  # topic titles named in the overview
MIN_SENTENCE_WORDS = 7
MAX_SENTENCE_WORDS = 40
MIN_MEETING_WORDS = 12
MAX_DECISIONS = detector.MAX_DECISIONS
MAX_ACTION_ITEMS = detector.MAX_ACTION_ITEMS
T = TypeVar("T")


def summarize(
    utterances: Sequence[Utterance],
    *,
    meeting_date: dt.date | None = None,
    participants: Sequence[Person] = (),
    use_embeddings: bool = True,
) -> SummaryResult:
    """Summarize a meeting extractively. ``utterances`` in meeting order; see the module doc.

    Returns ``status="insufficient"`` (with :data:`NOT_ENOUGH_TEXT` as note) for an empty or
    one-line meeting instead of inventing anything. Never raises on odd text.
    """
    started = time.perf_counter()
    spoken = [u for u in utterances if text.words(u.text or "")]
    total_words = sum(len(text.words(u.text or "")) for u in spoken)
    if len(spoken) < 2 or total_words < MIN_MEETING_WORDS:
        return SummaryResult(status=INSUFFICIENT, backend=BACKEND, model=MODEL, note=NOT_ENOUGH_TEXT)
    failed: list[str] = []
    timings: dict[str, float] = {}

    def step(name: str, run: Callable[[], T], empty: T) -> T:
        began = time.perf_counter()
        try:
            return run()
        except Exception:  # one broken step must not cost the whole summary: logged, left empty
            logger.exception("summary step %r failed; that part of the notes is left out", name)
            failed.append(name)
            return empty
        finally:
            timings[name] = round((time.perf_counter() - began) * 1000, 1)

    blocks = step("topics", lambda: topics.topics(spoken), ())
    overview = step("overview", lambda: _overview(spoken, blocks), "")
    actions, decisions = step(
        "action items and decisions",
        lambda: detector.detect(
            spoken,
            participants=participants,
            meeting_date=meeting_date,
            use_embeddings=use_embeddings,
        ),
        ((), ()),
    )
    topic_items = tuple(
        Item(
            text=block.title,
            segment_ids=block.segment_ids[:1],
            points=tuple(Item(text=s, segment_ids=(segment_id,)) for s, segment_id in block.key_sentences),
        )
        for block in blocks
    )
    key_points = tuple(topic.points[0] for topic in topic_items if topic.points)
    timings["total"] = round((time.perf_counter() - started) * 1000, 1)
    return SummaryResult(
        status=READY,
        backend=BACKEND,
        model=MODEL,
        overview=overview,
        key_points=key_points,
        decisions=decisions,
        topics=topic_items,
        action_items=actions,
        note=f"Left out because it failed: {', '.join(failed)}." if failed else "",
        timings_ms=timings,
    )


def _overview(utterances: Sequence[Utterance], blocks: Sequence[topics.TopicBlock]) -> str:
    """ "The meeting covered A, B and C." plus the best-ranked complete sentences, in meeting order."""
    parts = []
    titles = [block.title for block in blocks if block.title][:OVERVIEW_TOPICS]
    if titles:
        named = [t if t[:2].isupper() else t[0].lower() + t[1:] for t in titles]
        listed = named[0] if len(named) == 1 else "; ".join(named[:-1]) + "; and " + named[-1]
        parts.append(f"The meeting covered {listed}.")
    candidates = []
    for position, utterance in enumerate(utterances):
        for raw in text.split_sentences(utterance.text or ""):
            clean = text.clean_sentence(raw)
            n = len(text.words(clean))
            if (
                MIN_SENTENCE_WORDS <= n <= MAX_SENTENCE_WORDS
                and topics.is_complete(clean)
                and not text.is_fragment(clean)
            ):
                candidates.append((position, clean))
    if candidates:
        scores = ranking.rank([clean for _p, clean in candidates])
        chosen: list[tuple[int, str]] = []
        seen: list[frozenset[str]] = []
        for index in sorted(range(len(candidates)), key=lambda i: -scores[i]):
            stems = ranking.content_stems(candidates[index][1])
            if any(len(stems & other) > 0.5 * max(1, min(len(stems), len(other))) for other in seen):
                continue
            chosen.append(candidates[index])
            seen.append(stems)
            if len(chosen) >= OVERVIEW_SENTENCES:
                break
        parts.extend(clean for _p, clean in sorted(chosen))
    return " ".join(parts)
