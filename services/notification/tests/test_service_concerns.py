"""An organisation hears that a restaurant's concern waits for it, and nothing of what it says.

Named after test_mailer.py on purpose: the session's SMTP sink must start after that module's
own relays (aiosmtpd cannot start one event loop while another runs in the process).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import text

from shokudo_common.clock import FixedClock
from shokudo_common.testing import outbox_writer

from notification.mailer import SmtpMailer, SmtpSettings
from notification.policy import DeliveryPolicy
from notification.service import NotificationService

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"
ORGANISATION_A = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"
ORGANISATION_B = "8e3a2b1f-4c5d-4e6f-9071-8293a4b5c6d7"
ORGANISATION_A_EMAIL = "staff@aozora-support.example.jp"
HOUSEHOLD_A = "44444444-4444-4444-8444-444444444444"   # of organisation A, which has an email
HOUSEHOLD_B = "66666666-6666-4666-8666-666666666666"   # of organisation B, which has none
CONCERN = "d0d0d0d0-0000-4000-8000-00000000000d"
EVENT = "eeeeeeee-0000-4000-8000-00000000000e"
RESTAURANT = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
# Late at night in Tokyo: organisation staff are written to whatever the hour.
NIGHT = datetime(2026, 3, 12, 23, 30, tzinfo=TOKYO)


def contact(household_id, organisation_id, organisation_email, external_ref):
    return {
        "household_id": household_id, "channel": "card", "language": "ja", "email": None,
        "organisation_id": organisation_id, "organisation_name": "あおぞら子ども支援の会",
        "organisation_email": organisation_email, "external_ref": external_ref,
    }


@pytest.fixture
def enrollment(enrollment):
    enrollment.add(contact(HOUSEHOLD_A, ORGANISATION_A, ORGANISATION_A_EMAIL, "A-7"))
    enrollment.add(contact(HOUSEHOLD_B, ORGANISATION_B, None, "B-7"))
    return enrollment


@pytest.fixture
def service(session, enrollment, smtp_sink):
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, timeout_seconds=5))
    return worker_factory(NotificationService, db=session, outbox=outbox_writer(),
                          enrollment=enrollment, mailer=mailer, clock=FixedClock(NIGHT),
                          policy=DeliveryPolicy(), providers={})


def concern_recorded(household_id=HOUSEHOLD_A, organisation_id=ORGANISATION_A, event_id=EVENT):
    return {"event_id": event_id, "concern_id": CONCERN, "household_id": household_id,
            "organisation_id": organisation_id, "region_id": REGION,
            "restaurant_id": RESTAURANT}


def deliveries(database):
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT channel, template, outcome, error_code,"
                                       " household_id, organisation_id FROM deliveries"))
        return [tuple(row) for row in rows]


def test_the_organisation_is_told_a_concern_waits_in_japanese_then_english(
        service, mailbox, database):
    service.on_concern_recorded(concern_recorded())
    service.send_due()

    [notice] = mailbox.to(ORGANISATION_A_EMAIL)
    content = notice.get_content()
    assert notice["Subject"] == ("提携飲食店から気づきが届いています"
                                 " / A partner restaurant has raised a concern")
    assert "あおぞら子ども支援の会" in content
    assert content.index("気づき") < content.index("raised a concern")
    assert "A-7" not in content and CONCERN not in content and RESTAURANT[:8] not in content
    assert deliveries(database) == [("organisation_notice", "organisation_concern_waiting",
                                     "sent", None, None, ORGANISATION_A)]


def test_the_same_fact_twice_sends_one_notice(service, mailbox):
    service.on_concern_recorded(concern_recorded())
    service.on_concern_recorded(concern_recorded())
    service.send_due()

    assert len(mailbox.to(ORGANISATION_A_EMAIL)) == 1


def test_an_organisation_without_an_email_is_logged_as_skipped(service, mailbox, database):
    service.on_concern_recorded(concern_recorded(HOUSEHOLD_B, ORGANISATION_B))
    service.send_due()

    assert mailbox.received == []
    assert deliveries(database) == [("organisation_notice", "organisation_concern_waiting",
                                     "skipped", "organisation_has_no_email", None,
                                     ORGANISATION_B)]


def test_a_household_now_of_another_organisation_does_not_lead_to_the_concerns_one(
        service, mailbox, database):
    service.on_concern_recorded(concern_recorded(HOUSEHOLD_A, ORGANISATION_B))
    service.send_due()

    assert mailbox.received == []
    assert deliveries(database) == [("organisation_notice", "organisation_concern_waiting",
                                     "skipped", "contact_unknown", None, ORGANISATION_B)]
