"""How notification paces its messages, read once from the service config.

| key | default | meaning |
| --- | --- | --- |
| QUIET_HOURS | 21:00-08:00 | local hours when families get nothing; "off" for none |
| DELIVERY_MAX_ATTEMPTS | 5 | tries of one message before it is logged as failed |
| DELIVERY_RETRY_FIRST_SECONDS | 60 | pause after the first failed try |
| DELIVERY_RETRY_FACTOR | 4 | each pause this many times the one before |
| DELIVERY_RETRY_LONGEST_SECONDS | 21600 | no pause longer than this |
| DELIVERY_BATCH | 50 | messages one timer tick takes from the queue |
| DELIVERY_UNCONFIRMED_SECONDS | 600 | a send taken this long ago and never settled is given up |
| REMINDER_BATCH | 200 | tickets one reminder tick reminds of |
"""

from dataclasses import dataclass, field
from datetime import timedelta

from nameko.extensions import DependencyProvider

from notification.domain import QuietHours, Retries


@dataclass(frozen=True)
class DeliveryPolicy:
    quiet_hours: QuietHours | None = field(default_factory=QuietHours)
    retries: Retries = field(default_factory=Retries)
    batch: int = 50
    unconfirmed_after: timedelta = timedelta(minutes=10)
    reminder_batch: int = 200

    @classmethod
    def from_config(cls, config):
        def number(key, default, kind=int):
            return kind(config.get(key, default))

        return cls(
            quiet_hours=QuietHours.parse(str(config.get("QUIET_HOURS", "21:00-08:00"))),
            retries=Retries(
                max_attempts=number("DELIVERY_MAX_ATTEMPTS", 5),
                first_pause=timedelta(seconds=number("DELIVERY_RETRY_FIRST_SECONDS", 60, float)),
                factor=number("DELIVERY_RETRY_FACTOR", 4, float),
                longest_pause=timedelta(
                    seconds=number("DELIVERY_RETRY_LONGEST_SECONDS", 21600, float)),
            ),
            batch=number("DELIVERY_BATCH", 50),
            unconfirmed_after=timedelta(seconds=number("DELIVERY_UNCONFIRMED_SECONDS", 600,
                                                       float)),
            reminder_batch=number("REMINDER_BATCH", 200),
        )


class Policy(DependencyProvider):
    def setup(self):
        self.policy = DeliveryPolicy.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.policy
