"""The one reconnection policy of the RTMS client, used by signaling and media alike.

Zoom keeps a stream for about 60 s after the app's connection is lost (PROTOCOL.md §7.6, §7.8:
"waits 1 min for reconnection"; 65 s for a media socket), and its own clients back off 3 s,
doubling, capped at 30 s (§7.8). :class:`ReconnectPolicy` holds those numbers (all settings of
the product: ``RTMS_RECONNECT_*``); :meth:`ReconnectPolicy.begin` starts the schedule of one
outage, a :class:`Retry`, which says how long to wait before each attempt and when to give up.

Schedule of an outage lost at ``t = 0`` with the defaults (3 s, ×2, cap 30 s, window 60 s,
no jitter): attempts at 3, 9, 21, 45 s, then one **last attempt at 59 s** (``window −
final_margin``) instead of giving up at 45 s because 45 + 30 > 60, then give up. With jitter
``j`` every delay is multiplied by a uniform factor in ``[1 − j, 1 + j]`` (many clients losing
the same server do not come back in lockstep); the last attempt is never later than
``window − final_margin``.

No Django, no I/O: pure arithmetic on ``time.monotonic()`` seconds passed in by the caller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReconnectPolicy:
    """Backoff and window, in seconds. ``ValueError`` for invalid values.

    ``initial_delay`` > 0: wait before the first attempt after a loss; ``max_delay`` ≥
    ``initial_delay``: cap of the doubling delay; ``window`` > 0: give up once an attempt could
    only start this long after the loss (Zoom: 60 s); ``jitter`` in [0, 1): ± fraction applied to
    each delay; ``final_margin`` ≥ 0: the last attempt starts this long before the window ends
    (capped at 5 % of the window, so a small test window keeps its last attempt).
    """

    initial_delay: float = 3.0
    max_delay: float = 30.0
    window: float = 60.0
    jitter: float = 0.1
    final_margin: float = 1.0

    def __post_init__(self) -> None:
        if not self.initial_delay > 0 or not self.window > 0:
            raise ValueError("initial_delay and window must be > 0")
        if self.max_delay < self.initial_delay:
            raise ValueError("max_delay must be >= initial_delay")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.final_margin < 0:
            raise ValueError("final_margin must be >= 0")

    @property
    def last_attempt_offset(self) -> float:
        """Seconds after the loss at which the last attempt starts at the latest."""
        return self.window - min(self.final_margin, self.window * 0.05)

    def begin(self, lost_at: float, *, rng: random.Random | None = None) -> Retry:
        """The schedule of one outage that started at ``lost_at`` (``time.monotonic()``)."""
        return Retry(self, lost_at, rng or random.Random())

    def schedule(self) -> list[float]:
        """Attempt times (seconds after the loss) without jitter, when every attempt fails at once:
        for docs and tests."""
        retry = Retry(
            ReconnectPolicy(self.initial_delay, self.max_delay, self.window, 0.0, self.final_margin), 0.0
        )
        now, times = 0.0, []
        while (delay := retry.next_delay(now)) is not None:
            now += delay
            times.append(round(now, 6))
            retry.failed("attempt failed")
        return times


@dataclass
class Retry:
    """One outage: how many attempts failed, the last error, and the next wait.

    Call :meth:`next_delay` before each attempt (None: the window is over, give up) and
    :meth:`failed` after an attempt that failed. ``next_attempt_at`` is the ``time.monotonic()``
    of the attempt :meth:`next_delay` last scheduled; ``deadline`` is ``lost_at + window``.
    """

    policy: ReconnectPolicy
    lost_at: float
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0  # attempts that failed so far
    last_error: str = ""
    next_attempt_at: float | None = None
    _delay: float = 0.0
    _final: bool = False

    def __post_init__(self) -> None:
        self._delay = self.policy.initial_delay

    @property
    def deadline(self) -> float:
        return self.lost_at + self.policy.window

    def failed(self, error: object) -> None:
        """An attempt failed with ``error`` (kept as text for the stream's status)."""
        self.attempts += 1
        self.last_error = str(error) or type(error).__name__

    def next_delay(self, now: float) -> float | None:
        """Seconds to wait from ``now`` before the next attempt, or None: give up."""
        policy = self.policy
        last_start = self.lost_at + policy.last_attempt_offset
        if self._final:
            self.next_attempt_at = None
            return None
        base = self._delay
        self._delay = min(self._delay * 2, policy.max_delay)
        delay = base * (1 + policy.jitter * (2 * self.rng.random() - 1)) if policy.jitter else base
        if now + delay < last_start:
            self.next_attempt_at = now + delay
            return delay
        if now < last_start:  # the next regular attempt would be too late: one last one, at the end
            self._final = True
            self.next_attempt_at = last_start
            return last_start - now
        self.next_attempt_at = None
        return None
