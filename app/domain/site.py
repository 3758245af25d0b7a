"""A site's settings, and today at the site: the one object views, reads and rules take.

Built from the configuration once per app (`Site`), and for today once per request or command
(`Site.day(now)`), then passed explicitly; no module keeps a copy.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.domain.outcomes import Thresholds


@dataclass(frozen=True)
class PasswordCost:
    """Argon2id's cost (OWASP's minimum in production; cheap in tests)."""

    time_cost: int = 2
    memory_cost: int = 19 * 1024
    parallelism: int = 1


@dataclass(frozen=True)
class SiteDay:
    """Today at the site, with the settings that say what it means for items and flags."""

    date: date
    due_soon_days: int = 3
    warning_days: int = 2
    thresholds: Thresholds = Thresholds()
    zone: str = "UTC"


@dataclass(frozen=True)
class Site:
    """What a site configures that dates, items, flags and passwords depend on."""

    zone: str = "UTC"
    due_soon_days: int = 3
    warning_days: int = 2
    thresholds: Thresholds = Thresholds()
    password_cost: PasswordCost = PasswordCost()

    @classmethod
    def from_config(cls, config: Mapping) -> "Site":
        ZoneInfo(config["TIMEZONE"])  # an unknown zone fails here, at start-up
        return cls(
            zone=config["TIMEZONE"],
            due_soon_days=config["DUE_SOON_DAYS"],
            warning_days=config["SIGNOFF_WARNING_DAYS"],
            thresholds=Thresholds.from_config(config),
            password_cost=PasswordCost(
                config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
            ),
        )

    def local_date(self, moment: datetime) -> date:
        """The site's calendar date at a moment (an aware datetime)."""
        return moment.astimezone(ZoneInfo(self.zone)).date()

    def day(self, now: datetime) -> SiteDay:
        """Today at the site, at `now`."""
        today = self.local_date(now)
        return SiteDay(today, self.due_soon_days, self.warning_days, self.thresholds, self.zone)
