"""What every use case needs besides the unit of work: definitions, settings, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from service.config import Config
from service.db.models import utcnow
from service.services.workflow.definitions import Definitions
from service.storage import Storage, open_storage

SHANGHAI = timedelta(hours=8)


@dataclass
class Context:
    """Shared, read-only collaborators of the use cases; the clock is injectable for tests."""

    definitions: Definitions
    config: Config
    clock: Callable[[], datetime] = field(default=utcnow)
    storage: Storage | None = None  # uploaded files' bytes; default: what the config names
    memo: dict = field(default_factory=dict, repr=False, compare=False)  # per-app kept results

    def __post_init__(self) -> None:
        if self.storage is None:
            self.storage = open_storage(self.config)

    def now(self) -> datetime:
        """Now as naive UTC."""
        return self.clock()

    def today(self) -> date:
        """Today's date in Asia/Shanghai, the association's business day."""
        return (self.clock() + SHANGHAI).date()

    def policy(self, name: str, default=None):
        """A parameter of rules/policy.json, which every definition shares."""
        for defn in self.definitions.current.values():
            if name in defn.policy:
                return defn.policy[name]
        return default
