"""An organisation hears that a restaurant's concern waits for it, and nothing of what it says.

Named after test_mailer.py on purpose: the session's SMTP sink must start after that module's
own relays (aiosmtpd cannot start one event loop while another runs in the process).
"""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import text

from shokudo_common.testing import outbox_writer

from notification.mailer import SmtpMailer, SmtpSettings
from notification.service import NotificationService

REGION = "hoshizora-ku"
ORGANISATION_A = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"
ORGANISATION_B = "8e3a2b1f-4c5d-4e6f-9071-8293a4b5c6d7"
ORGANISATION_A_EMAIL = "staff@aozora-support.example.jp"

CONCERN = "d0d0d0d0-0000-4000-8000-00000000000d"
EVENT = "eeeeeeee-0000-4000-8000-00000000000e"


class EnrollmentWithOrganisations:
    """enrollment.get_organisation, as enrollment answers it (contact phone included)."""

    def __init__(self):
        self.asked = []
        self.organisations = {
            ORGANISATION_A: {"id": ORGANISATION_A, "name": "あおぞら子ども支援の会",
                             "region_id": REGION, "contact_email": ORGANISATION_A_EMAIL,
                             "contact_phone": "03-1111-2222"},
            ORGANISATION_B: {"id": ORGANISATION_B, "name": "みなと会", "region_id": REGION,
                             "contact_email": "", "contact_phone": "03-3333-4444"},
        }

    def get_organisation(self, organisation_id):
        self.asked.append(organisation_id)
        return self.organisations[organisation_id]


@pytest.fixture
def enrollment():
    return EnrollmentWithOrganisations()


@pytest.fixture
def service(session, enrollment, smtp_sink):
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=smtp_sink.port, timeout_seconds=5))
    return worker_factory(NotificationService, db=session, outbox=outbox_writer(),
                          enrollment=enrollment, mailer=mailer)


def concern_recorded(organisation_id=ORGANISATION_A, event_id=EVENT):
    return {"event_id": event_id, "concern_id": CONCERN, "organisation_id": organisation_id,
            "region_id": REGION, "restaurant_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"}


def deliveries(database):
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT channel, template, outcome, error_code,"
                                       " household_id FROM deliveries"))
        return [tuple(row) for row in rows]


def test_the_organisation_is_told_a_concern_waits_in_japanese_then_english(
        service, mailbox, database):
    service.on_concern_recorded(concern_recorded())

    [notice] = mailbox.to(ORGANISATION_A_EMAIL)
    content = notice.get_content()
    assert notice["Subject"] == ("提携飲食店から気づきが届いています"
                                 " / A partner restaurant has raised a concern")
    assert "あおぞら子ども支援の会" in content
    assert content.index("気づき") < content.index("raised a concern")
    assert CONCERN not in content and "5a6b7c8d" not in content
    assert deliveries(database) == [
        ("organisation_notice", "organisation_concern_waiting", "sent", None, None)]


def test_the_same_fact_twice_sends_one_notice(service, mailbox):
    service.on_concern_recorded(concern_recorded())
    service.on_concern_recorded(concern_recorded())

    assert len(mailbox.to(ORGANISATION_A_EMAIL)) == 1


def test_an_organisation_without_an_email_is_logged_as_skipped(service, mailbox, database):
    service.on_concern_recorded(concern_recorded(ORGANISATION_B, event_id=CONCERN))

    assert mailbox.received == []
    assert deliveries(database) == [("organisation_notice", "organisation_concern_waiting",
                                     "skipped", "organisation_has_no_email", None)]
