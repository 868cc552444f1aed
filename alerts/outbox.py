"""The outbox retry policy: exponential backoff with jitter, and a limit after which a message fails.

The outbox itself is a table (see :mod:`alerts.repository`): ``pending`` -> ``sent`` | ``failed``, with the
attempt count, the next attempt time and the last error. Permanent failures (SMTP 5xx) fail at once.

>>> policy = RetryPolicy(base_seconds=60, max_attempts=5)
>>> policy.delay(1, random.Random(1)) < policy.delay(4, random.Random(1))
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tbtwatch.settings import Settings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a temporarily failed message again, and when to give up."""

    base_seconds: float = 60.0
    factor: float = 2.0
    max_delay_seconds: float = 6 * 3600.0
    max_attempts: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy configured in ``[alerts]``."""
        return cls(base_seconds=settings.alerts.retry_base_seconds, max_attempts=settings.alerts.max_attempts)

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th failure: half fixed, half random ("equal jitter")."""
        full = min(self.max_delay_seconds, self.base_seconds * self.factor ** max(attempts - 1, 0))
        return full / 2 + rng.uniform(0, full / 2)

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random) -> datetime | None:
        """When to try again after ``attempts`` failed attempts, or None when it is time to give up."""
        if attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay(attempts, rng))
