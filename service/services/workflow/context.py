"""What every use case needs besides the unit of work: definitions, settings, a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from service.config import Config
from service.db.models import utcnow
from service.services.workflow.definitions import Definitions
from service.storage import Storage, open_storage

SHANGHAI = timedelta(hours=8)


def day_start(day: date) -> datetime:
    """The naive UTC instant a Shanghai business day starts, as stored (for 0001-01-01, the
    first instant there is: a date filter may hold any date a calendar has)."""
    midnight = datetime.combine(day, time())
    return midnight - SHANGHAI if midnight - datetime.min >= SHANGHAI else datetime.min


def day_after(day: date) -> datetime:
    """The naive UTC instant the Shanghai business day after `day` starts: the exclusive end
    of a range of days ending with `day` (for 9999-12-31, the last instant there is)."""
    return datetime.max if day == date.max else day_start(day + timedelta(days=1))


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

    def valid_through(self, days: int) -> datetime:
        """The last second (naive UTC) of the Shanghai day `days` days after today: a code
        printed "有效期至" that day works the whole of it, whatever hour it was made."""
        return day_after(self.today() + timedelta(days=days)) - timedelta(seconds=1)

    def policy(self, name: str, default=None):
        """A parameter of rules/policy.json, which every definition shares."""
        for defn in self.definitions.current.values():
            if name in defn.policy:
                return defn.policy[name]
        return default
