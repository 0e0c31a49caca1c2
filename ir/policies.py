"""Retry, cache and concurrency policies shared by flows and steps."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Any

from .base import Node, field


class RetryKind(str, Enum):
    """How the delay between attempts grows."""

    CONSTANT = "constant"
    EXPONENTIAL = "exponential"
    RANDOM = "random"
    EXPLICIT = "explicit"  # a list of delays, as Prefect's retry_delay_seconds=[…]


class RetryPolicy(Node):
    """Retries of a step or flow. ``max_attempts`` counts attempts (Kestra's convention):
    Prefect's ``retries=N`` is ``max_attempts=N + 1``."""

    kind: RetryKind = RetryKind.CONSTANT
    max_attempts: int | None = None
    interval: timedelta | None = None
    min_interval: timedelta | None = None
    max_interval: timedelta | None = None
    factor: float | None = None
    jitter: float | None = None
    delays: tuple[timedelta, ...] = ()
    max_duration: timedelta | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def retries(self) -> int | None:
        """Prefect's count: attempts after the first."""
        return None if self.max_attempts is None else max(self.max_attempts - 1, 0)


class CachePolicy(Node):
    """Result caching: Kestra ``taskCache``, Prefect ``cache_policy``/``cache_expiration``."""

    enabled: bool = True
    ttl: timedelta | None = None
    key: str | None = None  # a named policy (e.g. "inputs") when the side has one
    extras: dict[str, Any] = field(default_factory=dict)


class ConcurrencyBehavior(str, Enum):
    """What happens to a run over the concurrency limit."""

    QUEUE = "QUEUE"
    CANCEL = "CANCEL"
    FAIL = "FAIL"


class ConcurrencyPolicy(Node):
    """How many runs of a flow may run at once."""

    limit: int
    behavior: ConcurrencyBehavior | None = None
    extras: dict[str, Any] = field(default_factory=dict)
