"""Who a simulated account is: its id, the zone its times are written in, the moment its data is
generated around, and the sequence its certificate ids come from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

import pendulum


@dataclass
class AccountIdentity:
    zone: str
    domain_id: str
    now: datetime
    seed: int = 0
    _counter: int = field(default=0, repr=False)

    def next_certificate_id(self, rng: random.Random) -> str:
        self._counter += 1
        return f"scs{1554192131150 + self._counter * 1000 + rng.randrange(1000)}"

    def format_expire_time(self, instant: datetime) -> str:
        """The API's form: local wall time in the account's zone, no zone, one fraction digit."""
        return pendulum.instance(instant).in_tz(self.zone).format("YYYY-MM-DD HH:mm:ss") + ".0"
