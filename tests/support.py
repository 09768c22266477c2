"""Small helpers for the end-to-end tests: waiting on evidence, reading the mailbox."""

import mailbox
import time
from datetime import datetime
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

from shokudo_common.periods import Period


def wait_until(probe, timeout=30, interval=0.1, what="condition"):
    """Poll ``probe`` until it returns something truthy: the evidence that the thing happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s (last seen: {last!r})")


def messages(mail_dir):
    """Every message the SMTP sink has received, parsed."""
    if not (mail_dir / "new").exists():
        return []
    box = mailbox.Maildir(mail_dir, factory=None, create=False)
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(box.get_bytes(key)) for key in box.keys()]


def messages_to(mail_dir, address):
    return [message for message in messages(mail_dir) if address in str(message["To"])]


def body_text(message):
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def current_period(zone="Asia/Tokyo"):
    """The period whose tickets are usable today: last month's."""
    today = datetime.now(ZoneInfo(zone))
    this_month = Period(today.year, today.month)
    if this_month.month == 1:
        return Period(this_month.year - 1, 12), this_month
    return Period(this_month.year, this_month.month - 1), this_month
