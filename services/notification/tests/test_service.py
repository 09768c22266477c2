from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import eventlet
import pytest
from nameko.testing.services import worker_factory
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shokudo_common.clock import FixedClock
from shokudo_common.errors import InvalidInput, Unavailable
from shokudo_common.testing import outbox_writer

from notification import repository
from notification.domain import Retries
from notification.mailer import SmtpMailer, SmtpSettings
from notification.policy import DeliveryPolicy
from notification.service import NotificationService

TOKYO = ZoneInfo("Asia/Tokyo")
REGION = "hoshizora-ku"
RUN = "0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f"
ORGANISATION_A = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"
ORGANISATION_B = "8e3a2b1f-4c5d-4e6f-9071-8293a4b5c6d7"
RESTAURANT = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"

HANA = "11111111-1111-4111-8111-111111111111"      # app, Japanese, has an email
SMITH = "22222222-2222-4222-8222-222222222222"     # app, English, has an email
NO_MAIL = "33333333-3333-4333-8333-333333333333"   # app, no email
CARD_A2 = "44444444-4444-4444-8444-444444444444"   # card, organisation A
CARD_A10 = "55555555-5555-4555-8555-555555555555"  # card, organisation A
CARD_B1 = "66666666-6666-4666-8666-666666666666"   # card, organisation B (no email), ref B-1
UNKNOWN = "77777777-7777-4777-8777-777777777777"   # not known to enrollment any more

HANA_EMAIL = "hana.family@example.jp"
SMITH_EMAIL = "smith.family@example.com"
ORGANISATION_A_EMAIL = "staff@aozora-support.example.jp"


def contact(household_id, channel, language="ja", email=None, organisation=ORGANISATION_A,
            external_ref=None):
    organisation_email = ORGANISATION_A_EMAIL if organisation == ORGANISATION_A else None
    return {
        "household_id": household_id, "channel": channel, "language": language,
        "email": email, "organisation_id": organisation,
        "organisation_name": "あおぞら子ども支援の会" if organisation == ORGANISATION_A else "みなと会",
        "organisation_email": organisation_email, "external_ref": external_ref,
        # A field enrollment must never send; if it ever did, no message may show it.
        "guardian_name": "山田花子",
    }


@pytest.fixture
def enrollment(enrollment):
    enrollment.add(contact(HANA, "app", "ja", HANA_EMAIL, external_ref="A-1"))
    enrollment.add(contact(SMITH, "app", "en", SMITH_EMAIL, external_ref="A-3"))
    enrollment.add(contact(NO_MAIL, "app", "ja", None, external_ref="A-4"))
    enrollment.add(contact(CARD_A2, "card", external_ref="A-2"))
    enrollment.add(contact(CARD_A10, "card", external_ref="A-10"))
    enrollment.add(contact(CARD_B1, "card", organisation=ORGANISATION_B, external_ref="B-1"))
    return enrollment


# A Thursday morning in Tokyo, outside the quiet hours.
DAYTIME = datetime(2026, 3, 12, 10, 0, tzinfo=TOKYO)


def make_service(session, enrollment, smtp_port, clock=None, policy=None, providers=None):
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=smtp_port, timeout_seconds=5))
    return worker_factory(NotificationService, db=session, outbox=outbox_writer(),
                          enrollment=enrollment, mailer=mailer,
                          clock=clock or FixedClock(DAYTIME), policy=policy or DeliveryPolicy(),
                          providers=providers or {})


@pytest.fixture
def clock():
    return FixedClock(DAYTIME)


@pytest.fixture
def service(session, enrollment, smtp_sink, clock):
    return make_service(session, enrollment, smtp_sink.port, clock)


def tickets_issued(*household_ids, event_id="aaaaaaaa-0000-4000-8000-000000000001"):
    return {
        "event_id": event_id, "run_id": RUN, "region_id": REGION, "period": "2026-02",
        "amount_yen": 3000, "time_zone": "Asia/Tokyo",
        "valid_from": "2026-03-01T00:00:00+09:00", "valid_until": "2026-04-01T00:00:00+09:00",
        "first_day": "2026-03-01", "last_day": "2026-03-31",
        "grants": [
            {"grant_id": f"9999999{index}-0000-4000-8000-000000000000",
             "household_id": household_id,
             "organisation_id": ORGANISATION_B if household_id == CARD_B1 else ORGANISATION_A}
            for index, household_id in enumerate(household_ids)
        ],
    }


def ticket_redeemed(household_id, applied_yen=1200, balance_yen=1800, pay_at_counter_yen=0,
                    event_id="bbbbbbbb-0000-4000-8000-000000000001", ticket_id=None,
                    at="2026-03-12T09:30:00+00:00"):
    # Instants as PostgreSQL might hand them over, in UTC: the local day must still be right.
    payload = {
        "event_id": event_id, "redemption_id": "cccccccc-0000-4000-8000-000000000001",
        "household_id": household_id, "organisation_id": ORGANISATION_A, "region_id": REGION,
        "restaurant_id": RESTAURANT, "applied_yen": applied_yen, "balance_yen": balance_yen,
        "pay_at_counter_yen": pay_at_counter_yen,
        "valid_until": "2026-03-31T15:00:00+00:00", "at": at,
    }
    if ticket_id:
        payload["ticket_id"] = ticket_id
    return payload


def grant_id(index):
    """The ticket of the ``index``-th household of a tickets_issued() batch."""
    return f"9999999{index}-0000-4000-8000-000000000000"


def deliveries(database):
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM deliveries ORDER BY created_at, id"))
        return [dict(row._mapping) for row in rows]


def body(message):
    return message.get_content()


# -- tickets issued -----------------------------------------------------------------------


def test_a_family_email_carries_amount_and_last_day_in_japanese_then_english(service, mailbox):
    service.on_tickets_issued(tickets_issued(HANA))
    service.send_due()

    [email] = mailbox.to(HANA_EMAIL)
    content = body(email)
    assert email["Subject"].startswith("食事チケット（3,000円分）が届きました / ")
    assert "3,000 yen" in email["Subject"]
    assert "3,000円" in content and "3,000 yen" in content
    assert "2026年3月31日（火）" in content and "Tuesday 31 March 2026" in content
    assert "2026年3月1日（日）" in content
    assert content.index("食事チケットが届きました") < content.index("meal ticket has arrived")
    assert email.get_content_charset() == "utf-8"


def test_an_english_speaking_family_reads_the_english_variant(service, mailbox, database):
    service.on_tickets_issued(tickets_issued(SMITH))
    service.send_due()

    [email] = mailbox.to(SMITH_EMAIL)
    assert email["Subject"] == "Your meal ticket of 3,000 yen has arrived"
    assert "meal ticket has arrived" in body(email)
    assert "届きました" not in body(email) and "円" not in body(email)
    assert email["Content-Language"] == "en"
    [row] = deliveries(database)
    assert row["language"] == "en"


def test_card_households_produce_one_notice_to_their_organisation_by_reference_only(
        service, mailbox, enrollment, database):
    service.on_tickets_issued(tickets_issued(HANA, CARD_A10, CARD_A2, CARD_B1))
    service.send_due()

    [notice] = mailbox.to(ORGANISATION_A_EMAIL)
    content = body(notice)
    assert "あおぞら子ども支援の会" in content
    listed = [line.strip(" ・") for line in content.splitlines() if line.startswith("  ・")]
    assert listed == ["A-2", "A-10"]  # Hana uses the app and is told directly
    assert "（2世帯）" in notice["Subject"]
    assert "山田花子" not in content and "山田花子" not in notice["Subject"]
    assert len(mailbox.received) == 2  # Hana's email and organisation A's notice
    # The handler asks who they are; the sending asks again for the addresses.
    assert enrollment.calls[0] == sorted([HANA, CARD_A10, CARD_A2, CARD_B1])

    notices = [row for row in deliveries(database) if row["channel"] == "organisation_notice"]
    assert {(row["organisation_id"], row["household_id"], row["outcome"], row["error_code"])
            for row in notices} == {
        (ORGANISATION_A, None, "sent", None),
        (ORGANISATION_B, None, "skipped", "organisation_has_no_email"),
    }


def test_households_that_cannot_be_reached_are_logged_as_skipped_with_a_reason(
        service, mailbox, database):
    service.on_tickets_issued(tickets_issued(NO_MAIL, UNKNOWN))
    service.send_due()

    assert mailbox.received == []
    assert {(row["household_id"], row["outcome"], row["error_code"])
            for row in deliveries(database)} == {
        (NO_MAIL, "skipped", "household_has_no_email"),
        (UNKNOWN, "skipped", "contact_unknown"),
    }
    failed = database.outbox_events("notification_failed")
    assert {event["outcome"] for event in failed} == {"skipped"}
    assert len(failed) == 2


def test_a_sent_email_is_logged_and_announced_as_delivered(service, database):
    service.on_tickets_issued(tickets_issued(HANA))
    service.send_due()

    [row] = deliveries(database)
    assert (row["household_id"], row["channel"], row["template"], row["language"],
            row["outcome"], row["error_code"]) == (
        HANA, "email", "tickets_issued", "ja", "sent", None)
    [delivered] = database.outbox_events("notification_delivered")
    assert delivered["delivery_id"] == row["id"]
    assert (delivered["household_id"], delivered["channel"], delivered["template"]) == (
        HANA, "email", "tickets_issued")


# -- redemption receipts ------------------------------------------------------------------


def test_a_receipt_shows_applied_and_balance_and_the_local_last_day(service, mailbox):
    service.on_ticket_redeemed(ticket_redeemed(HANA, applied_yen=1200, balance_yen=1800))
    service.send_due()

    [receipt] = mailbox.to(HANA_EMAIL)
    content = body(receipt)
    assert receipt["Subject"].startswith("ご利用明細：1,200円（残高1,800円） / ")
    assert "1,200円" in content and "1,200 yen" in content
    assert "1,800円" in content and "1,800 yen" in content
    assert "2026年3月31日（火）まで" in content and "Tuesday 31 March 2026" in content
    assert "2026年3月12日（木） 18:30" in content  # 09:30 UTC is 18:30 in Tokyo
    assert "残高" in content and "Balance left" in content
    assert "お店でお支払い" not in content  # the ticket covered the whole bill


def test_a_receipt_says_what_was_paid_at_the_counter_and_that_the_ticket_is_used_up(
        service, mailbox):
    service.on_ticket_redeemed(ticket_redeemed(HANA, applied_yen=3000, balance_yen=0,
                                               pay_at_counter_yen=1200))
    service.send_due()

    content = body(mailbox.to(HANA_EMAIL)[0])
    assert "お会計のうち1,200円は、お店でお支払いいただきました。" in content
    assert "You paid 1,200 yen of the bill at the counter." in content
    assert "使い切りました" in content and "used up" in content


def test_a_receipt_follows_the_time_zone_the_region_issued_in(service, mailbox):
    issued = tickets_issued(CARD_B1)
    issued["time_zone"] = "Pacific/Honolulu"
    service.on_tickets_issued(issued)
    service.send_due()

    service.on_ticket_redeemed(ticket_redeemed(HANA))
    service.send_due()

    [receipt] = mailbox.to(HANA_EMAIL)
    assert "2026年3月11日（水） 23:30" in body(receipt)  # 09:30 UTC is 23:30 the day before
    assert "2026年3月31日（火）まで" in body(receipt)     # 15:00 UTC on the 31st, 05:00 local


def test_a_card_redemption_sends_a_notice_to_the_organisation(service, mailbox, database):
    service.on_ticket_redeemed(ticket_redeemed(CARD_A10, applied_yen=3000, balance_yen=0))
    service.send_due()

    [notice] = mailbox.to(ORGANISATION_A_EMAIL)
    assert "A-10" in notice["Subject"]
    assert "3,000円" in body(notice) and "0円" in body(notice)
    assert "山田花子" not in body(notice)
    [row] = deliveries(database)
    assert (row["household_id"], row["channel"], row["template"]) == (
        None, "organisation_notice", "organisation_ticket_redeemed")


# -- once, failures, privacy --------------------------------------------------------------


def test_the_same_event_delivered_twice_sends_once(service, mailbox, database):
    payload = tickets_issued(HANA, CARD_A2)

    service.on_tickets_issued(payload)
    service.send_due()
    service.on_tickets_issued(payload)
    service.send_due()

    assert len(mailbox.to(HANA_EMAIL)) == 1
    assert len(mailbox.to(ORGANISATION_A_EMAIL)) == 1
    assert len(deliveries(database)) == 2
    assert len(database.outbox_events("notification_delivered")) == 2
    assert parked(database) == []


def test_the_delivery_log_alone_keeps_a_message_from_going_twice(service, mailbox, database):
    # As if the applied-events record were lost, e.g. after the handler was renamed.
    payload = ticket_redeemed(HANA)
    service.on_ticket_redeemed(payload)
    service.send_due()
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM applied_events"))

    service.on_ticket_redeemed(payload)
    service.send_due()

    assert len(mailbox.to(HANA_EMAIL)) == 1
    assert len(deliveries(database)) == 1
    assert parked(database) == []


RETRIES = Retries(max_attempts=3, first_pause=timedelta(minutes=1), factor=4)


def attempts(database):
    return {(row["household_id"], row["outcome"], row["attempts"], row["error_code"],
             row["next_attempt_at"]) for row in deliveries(database)}


def test_a_failed_send_is_retried_with_growing_pauses_then_marked_failed(
        session, enrollment, database, unused_port, clock):
    service = make_service(session, enrollment, smtp_port=unused_port, clock=clock,
                           policy=DeliveryPolicy(retries=RETRIES))
    service.on_tickets_issued(tickets_issued(HANA, CARD_A2))

    service.send_due()
    first_retry = DAYTIME + timedelta(minutes=1)
    assert attempts(database) == {
        (HANA, "pending", 1, "smtp_unreachable", first_retry),
        (None, "pending", 1, "smtp_unreachable", first_retry),
    }
    assert database.outbox_events("notification_failed") == []

    service.send_due()  # not due yet: nothing is tried
    assert {row["attempts"] for row in deliveries(database)} == {1}

    clock.set(first_retry)
    service.send_due()
    second_retry = first_retry + timedelta(minutes=4)
    assert {(row["attempts"], row["next_attempt_at"]) for row in deliveries(database)} == {
        (2, second_retry)}

    clock.set(second_retry)
    service.send_due()
    assert attempts(database) == {
        (HANA, "failed", 3, "smtp_unreachable", None),
        (None, "failed", 3, "smtp_unreachable", None),
    }
    assert len(database.outbox_events("notification_failed")) == 2
    assert database.outbox_events("notification_delivered") == []

    clock.set(second_retry + timedelta(days=1))
    service.send_due()  # failed is final
    assert {row["attempts"] for row in deliveries(database)} == {3}


def test_a_retry_goes_out_once_the_relay_is_back(session, enrollment, database, unused_port,
                                                 smtp_sink, mailbox, clock):
    service = make_service(session, enrollment, smtp_port=unused_port, clock=clock)
    service.on_ticket_redeemed(ticket_redeemed(HANA))
    service.send_due()
    assert deliveries(database)[0]["outcome"] == "pending"

    # The relay answers again (here: at the sink's address).
    service.mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=smtp_sink.port))
    clock.set(DAYTIME + timedelta(minutes=1))
    service.send_due()
    service.send_due()

    assert len(mailbox.to(HANA_EMAIL)) == 1
    [row] = deliveries(database)
    assert (row["outcome"], row["attempts"], row["error_code"]) == ("sent", 2, None)


def test_a_send_never_confirmed_is_given_up_not_repeated(service, database, mailbox, clock):
    service.on_ticket_redeemed(ticket_redeemed(HANA))
    # As if a worker took the message, and died before it recorded the relay's answer.
    with database.engine.begin() as connection:
        connection.execute(text(
            "UPDATE deliveries SET outcome = 'sending', attempts = 1, sending_since = :at"),
            {"at": DAYTIME})

    clock.set(DAYTIME + timedelta(minutes=5))
    service.send_due()
    assert deliveries(database)[0]["outcome"] == "sending"  # it may still be on its way

    clock.set(DAYTIME + timedelta(minutes=11))
    service.send_due()
    [row] = deliveries(database)
    assert (row["outcome"], row["error_code"]) == ("failed", "send_not_confirmed")
    assert mailbox.received == []
    [failed] = database.outbox_events("notification_failed")
    assert failed["error_code"] == "send_not_confirmed"


def test_the_delivery_log_and_the_events_hold_no_email_address(service, mailbox, database):
    service.on_tickets_issued(tickets_issued(HANA, SMITH, NO_MAIL, CARD_A2, CARD_B1))
    service.send_due()
    service.on_ticket_redeemed(ticket_redeemed(SMITH))
    service.send_due()

    stored = repr(deliveries(database)) + repr(database.outbox_events())
    assert len(mailbox.received) == 4
    for address in (HANA_EMAIL, SMITH_EMAIL, ORGANISATION_A_EMAIL):
        assert address not in stored
    assert "@" not in stored
    assert "山田花子" not in stored


def test_metrics_count_notifications_by_channel_and_outcome(service):
    def count(channel, outcome):
        labels = {"channel": channel, "outcome": outcome}
        return REGISTRY.get_sample_value("shokudo_notifications_total", labels) or 0

    before = (count("email", "sent"), count("email", "skipped"),
              count("organisation_notice", "sent"))
    service.on_tickets_issued(tickets_issued(HANA, NO_MAIL, CARD_A2))
    service.send_due()

    after = (count("email", "sent"), count("email", "skipped"),
             count("organisation_notice", "sent"))
    assert [later - earlier for earlier, later in zip(before, after)] == [1, 1, 1]


# -- bad facts and absent neighbours ------------------------------------------------------


@pytest.fixture
def no_pauses(monkeypatch):
    monkeypatch.setattr("shokudo_common.handlers.FIRST_PAUSE_SECONDS", 0)


def parked(database):
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT consumer, error FROM parked_messages")).all()


def test_a_malformed_fact_is_parked_and_nothing_is_sent(service, mailbox, database, no_pauses):
    payload = tickets_issued(HANA)
    payload["amount_yen"] = "a lot"
    del payload["last_day"]

    service.on_tickets_issued(payload)
    service.send_due()

    [(consumer, error)] = parked(database)
    assert consumer == "notification.on_tickets_issued"
    assert "amount_yen" in error and "last_day" in error
    assert mailbox.received == [] and deliveries(database) == []


def test_when_enrollment_does_not_answer_the_fact_is_parked_unsent(
        service, mailbox, database, enrollment, no_pauses):
    def unavailable(household_ids):
        raise Unavailable("service_unavailable", "enrollment did not answer")
    enrollment.get_contacts = unavailable

    service.on_ticket_redeemed(ticket_redeemed(HANA))
    service.send_due()

    [(consumer, error)] = parked(database)
    assert consumer == "notification.on_ticket_redeemed" and "Unavailable" in error
    assert mailbox.received == [] and deliveries(database) == []


# -- summary ------------------------------------------------------------------------------


def test_delivery_summary_counts_by_channel_and_outcome_per_region(service):
    service.on_tickets_issued(tickets_issued(HANA, SMITH, NO_MAIL, CARD_A2, CARD_B1))
    service.send_due()

    summary = service.delivery_summary(REGION)

    assert summary["total"] == 5
    nothing = {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "skipped": 0}
    assert summary["by_channel"] == {
        "email": dict(nothing, sent=2, skipped=1),
        "sms": nothing,
        "push": nothing,
        "organisation_notice": dict(nothing, sent=1, skipped=1),
    }
    assert summary["by_template"] == {"tickets_issued": 3, "organisation_tickets_issued": 2}
    assert service.delivery_summary()["total"] == 5
    assert service.delivery_summary("other-ku")["total"] == 0


def test_delivery_summary_refuses_a_malformed_region(service):
    with pytest.raises(InvalidInput) as raised:
        service.delivery_summary("Not A Region!")
    assert set(raised.value.details["fields"]) == {"region_id"}




def test_a_database_failure_mid_batch_repeats_nothing_and_loses_nothing(
        service, database, mailbox, clock, monkeypatch):
    service.on_tickets_issued(tickets_issued(HANA, SMITH, CARD_A2))
    settle = repository.settle

    def database_gone_once(*args, **kwargs):
        monkeypatch.setattr(repository, "settle", settle)
        raise OperationalError("UPDATE deliveries", {}, Exception("connection lost"))
    monkeypatch.setattr(repository, "settle", database_gone_once)

    service.send_due()  # the first message went, its record did not
    assert len(mailbox.received) == 1
    assert sorted((row["outcome"], row["attempts"]) for row in deliveries(database)) == [
        ("pending", 0), ("pending", 0), ("sending", 1)]

    service.send_due()
    clock.set(DAYTIME + timedelta(minutes=11))
    service.send_due()

    assert len(mailbox.received) == 3  # each message once
    assert sorted((row["outcome"], row["error_code"]) for row in deliveries(database)) == [
        ("failed", "send_not_confirmed"), ("sent", None), ("sent", None)]

# -- quiet hours ----------------------------------------------------------------------------

LATE_EVENING = datetime(2026, 3, 12, 22, 0, tzinfo=TOKYO)
NEXT_MORNING = datetime(2026, 3, 13, 8, 0, tzinfo=TOKYO)


def test_no_message_goes_to_a_family_during_quiet_hours_it_goes_at_eight(
        service, mailbox, database, clock):
    clock.set(LATE_EVENING)
    service.on_ticket_redeemed(ticket_redeemed(HANA))
    service.send_due()

    assert mailbox.received == []
    [row] = deliveries(database)
    assert (row["outcome"], row["attempts"], row["next_attempt_at"]) == (
        "pending", 0, NEXT_MORNING)

    clock.set(NEXT_MORNING - timedelta(seconds=1))
    service.send_due()
    assert mailbox.received == []

    clock.set(NEXT_MORNING)
    service.send_due()
    assert len(mailbox.to(HANA_EMAIL)) == 1
    assert deliveries(database)[0]["outcome"] == "sent"


def test_organisation_staff_mail_is_not_held_by_quiet_hours(service, mailbox, clock):
    clock.set(LATE_EVENING)
    service.on_tickets_issued(tickets_issued(HANA, CARD_A2))
    service.send_due()

    assert len(mailbox.to(ORGANISATION_A_EMAIL)) == 1
    assert mailbox.to(HANA_EMAIL) == []


def test_a_message_caught_by_the_start_of_quiet_hours_waits_with_its_try_unspent(
        service, mailbox, database, clock):
    clock.set(datetime(2026, 3, 12, 20, 59, tzinfo=TOKYO))
    service.on_ticket_redeemed(ticket_redeemed(HANA))

    clock.set(datetime(2026, 3, 12, 21, 0, tzinfo=TOKYO))
    service.send_due()

    assert mailbox.received == []
    [row] = deliveries(database)
    assert (row["outcome"], row["attempts"], row["next_attempt_at"]) == (
        "pending", 0, NEXT_MORNING)


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_the_morning(
        session, enrollment, database, unused_port, clock):
    service = make_service(session, enrollment, smtp_port=unused_port, clock=clock)
    clock.set(datetime(2026, 3, 12, 20, 59, 30, tzinfo=TOKYO))
    service.on_ticket_redeemed(ticket_redeemed(HANA))
    service.send_due()

    [row] = deliveries(database)
    assert (row["outcome"], row["attempts"], row["next_attempt_at"]) == (
        "pending", 1, NEXT_MORNING)


def test_quiet_hours_can_be_switched_off(session, enrollment, smtp_sink, mailbox, clock):
    service = make_service(session, enrollment, smtp_sink.port, clock,
                           policy=DeliveryPolicy(quiet_hours=None))
    clock.set(LATE_EVENING)
    service.on_ticket_redeemed(ticket_redeemed(HANA))
    service.send_due()

    assert len(mailbox.to(HANA_EMAIL)) == 1


# -- reminders ------------------------------------------------------------------------------

# Tickets of tickets_issued() close at 1 April 00:00 in Tokyo: reminders are due a week before.
REMINDERS_DUE = datetime(2026, 3, 25, 0, 0, tzinfo=TOKYO)
REMINDER_MORNING = datetime(2026, 3, 25, 10, 0, tzinfo=TOKYO)


def reminders(database):
    with database.engine.connect() as connection:
        return connection.execute(text(
            "SELECT household_id, period FROM reminders ORDER BY household_id")).all()


def reminder_rows(database):
    return [row for row in deliveries(database) if "reminder" in row["template"]]


@pytest.fixture
def issued_and_used(service, clock):
    """Hana (app) has 1,800 yen left, Smith (English) 3,000, card A-2 3,000, card A-10 none."""
    service.on_tickets_issued(tickets_issued(HANA, SMITH, CARD_A2, CARD_A10))
    service.on_ticket_redeemed(ticket_redeemed(HANA, balance_yen=1800, ticket_id=grant_id(0)))
    service.on_ticket_redeemed(ticket_redeemed(
        CARD_A10, applied_yen=3000, balance_yen=0, ticket_id=grant_id(3),
        event_id="bbbbbbbb-0000-4000-8000-000000000002"))
    service.send_due()
    return service


def test_a_week_before_the_close_families_hear_what_is_left(issued_and_used, mailbox, clock):
    service = issued_and_used
    mailbox.received.clear()
    clock.set(REMINDER_MORNING)

    service.remind()
    service.send_due()

    [hana] = mailbox.to(HANA_EMAIL)
    assert hana["Subject"].startswith("3月31日まで ¥1,800 残っています / ")
    assert "2026年3月31日（火）まで" in body(hana) and "1,800 yen" in body(hana)
    [smith] = mailbox.to(SMITH_EMAIL)
    assert smith["Subject"] == (
        "3,000 yen left on your meal ticket until Tuesday 31 March 2026")
    assert "残って" not in body(smith)


def test_card_households_reminders_go_to_their_organisation_by_reference(
        issued_and_used, mailbox, clock):
    service = issued_and_used
    mailbox.received.clear()
    clock.set(REMINDER_MORNING)

    service.remind()
    service.send_due()

    [notice] = mailbox.to(ORGANISATION_A_EMAIL)
    listed = [line.strip() for line in body(notice).splitlines() if line.startswith("  ・")]
    assert listed == ["・A-2\u30003,000円"]  # A-10 has used its ticket up
    assert "（1世帯に残高あり）" in notice["Subject"]
    assert "山田花子" not in body(notice)


def test_the_reminder_is_sent_once_however_often_the_timer_runs(
        issued_and_used, mailbox, database, clock):
    service = issued_and_used
    mailbox.received.clear()
    clock.set(REMINDER_MORNING)

    service.remind()
    service.send_due()
    clock.set(REMINDER_MORNING + timedelta(hours=1))
    service.remind()
    service.send_due()

    assert len(mailbox.to(HANA_EMAIL)) == 1
    assert len(mailbox.to(ORGANISATION_A_EMAIL)) == 1
    assert {household for household, _ in reminders(database)} == {HANA, SMITH, CARD_A2}
    assert len(reminder_rows(database)) == 3  # Hana, Smith, organisation A's notice


def test_two_replicas_reminding_at_once_remind_each_household_once(
        issued_and_used, session, database, enrollment, smtp_sink, mailbox, clock):
    mailbox.received.clear()
    clock.set(REMINDER_MORNING)
    slow = SlowEnrollment(enrollment, database)
    replicas = [make_service(database.make_session(), slow, smtp_sink.port, clock)
                for _ in range(2)]

    for replica in [eventlet.spawn(replica.remind) for replica in replicas]:
        replica.wait()
    for replica in [eventlet.spawn(replica.send_due) for replica in replicas]:
        replica.wait()

    # While the first replica asked enrollment, the second one's insert waited on its claims
    # (then inserted nothing); the other calls are the sending's.
    assert slow.lock_waits[0] == 1
    assert len(mailbox.to(HANA_EMAIL)) == 1
    assert len(mailbox.to(SMITH_EMAIL)) == 1
    assert len(mailbox.to(ORGANISATION_A_EMAIL)) == 1
    assert len(reminder_rows(database)) == 3


class SlowEnrollment:
    """Enrollment answering slowly, so that two replicas' work overlaps; it notes how many
    database sessions were waiting for a lock while it kept its caller waiting."""

    def __init__(self, enrollment, database):
        self.enrollment = enrollment
        self.database = database
        self.lock_waits = []

    def get_contacts(self, household_ids):
        eventlet.sleep(0.3)
        with self.database.engine.connect() as connection:
            self.lock_waits.append(connection.execute(text(
                "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
                " WHERE NOT granted AND datname = current_database()"
            )).scalar())
        return self.enrollment.get_contacts(household_ids)


def test_two_replicas_sending_at_once_send_each_message_once(
        session, database, enrollment, smtp_sink, mailbox, clock):
    slow = SlowEnrollment(enrollment, database)
    replicas = [make_service(database.make_session(), slow, smtp_sink.port, clock)
                for _ in range(2)]
    replicas[0].on_tickets_issued(tickets_issued(HANA, SMITH, CARD_A2))

    for replica in [eventlet.spawn(replica.send_due) for replica in replicas]:
        replica.wait()

    assert len(mailbox.received) == 3
    assert {row["outcome"] for row in deliveries(database)} == {"sent"}


def test_no_reminder_before_its_day_nor_for_an_expired_ticket(
        issued_and_used, mailbox, database, clock):
    service = issued_and_used
    clock.set(REMINDERS_DUE - timedelta(seconds=1))
    service.remind()
    assert reminders(database) == []

    service.on_ticket_expired({
        "event_id": "eeeeeeee-0000-4000-8000-000000000001", "ticket_id": grant_id(0),
        "household_id": HANA, "organisation_id": ORGANISATION_A, "region_id": REGION,
        "period": "2026-02", "expired_yen": 1800, "at": "2026-03-31T15:00:00+00:00"})
    clock.set(REMINDERS_DUE)
    service.remind()
    assert HANA not in {household for household, _ in reminders(database)}


def test_a_void_gives_back_yen_and_the_reminder_says_so(issued_and_used, mailbox, clock):
    service = issued_and_used
    service.on_ticket_voided({
        "event_id": "dddddddd-0000-4000-8000-000000000001", "ticket_id": grant_id(3),
        "redemption_id": "cccccccc-0000-4000-8000-000000000001", "void_id": grant_id(5),
        "household_id": CARD_A10, "organisation_id": ORGANISATION_A, "region_id": REGION,
        "restaurant_id": RESTAURANT, "voided_yen": 3000, "balance_yen": 3000,
        "at": "2026-03-12T10:00:00+00:00"})
    # A redemption older than the void, delivered late, does not undo it.
    service.on_ticket_redeemed(ticket_redeemed(
        CARD_A10, applied_yen=3000, balance_yen=0, ticket_id=grant_id(3),
        event_id="bbbbbbbb-0000-4000-8000-000000000003", at="2026-03-12T09:00:00+00:00"))
    mailbox.received.clear()
    clock.set(REMINDER_MORNING)

    service.remind()
    service.send_due()

    [notice] = [notice for notice in mailbox.to(ORGANISATION_A_EMAIL)
                if notice["Subject"].startswith("チケット期限")]
    assert "A-10\u30003,000円" in body(notice)


def test_a_reminder_due_at_night_waits_for_the_morning(issued_and_used, mailbox, clock):
    service = issued_and_used
    mailbox.received.clear()
    clock.set(REMINDERS_DUE)  # midnight

    service.remind()
    service.send_due()
    assert mailbox.to(HANA_EMAIL) == []
    assert len(mailbox.to(ORGANISATION_A_EMAIL)) == 1  # staff mail is not held

    clock.set(datetime(2026, 3, 25, 8, 0, tzinfo=TOKYO))
    service.send_due()
    assert len(mailbox.to(HANA_EMAIL)) == 1


def test_a_suspended_or_withdrawn_household_is_not_told_what_is_left(
        issued_and_used, enrollment, mailbox, database, clock):
    service = issued_and_used
    enrollment.contacts[SMITH]["status"] = "suspended"
    enrollment.contacts[CARD_A2]["status"] = "withdrawn"
    mailbox.received.clear()
    clock.set(REMINDER_MORNING)

    service.remind()
    service.send_due()

    assert mailbox.to(SMITH_EMAIL) == []
    # A-2 was the only card household with yen left: no notice lists it.
    assert mailbox.to(ORGANISATION_A_EMAIL) == []
    assert len(mailbox.to(HANA_EMAIL)) == 1
    [smith] = [row for row in reminder_rows(database) if row["household_id"] == SMITH]
    assert (smith["outcome"], smith["error_code"]) == ("skipped", "household_not_active")


def test_a_reminder_queued_at_night_is_skipped_if_the_household_is_suspended_by_morning(
        issued_and_used, enrollment, mailbox, database, clock):
    service = issued_and_used
    mailbox.received.clear()
    clock.set(REMINDERS_DUE)  # midnight: the family's reminder waits for 08:00
    service.remind()
    service.send_due()

    enrollment.contacts[HANA]["status"] = "suspended"
    clock.set(datetime(2026, 3, 25, 8, 0, tzinfo=TOKYO))
    service.send_due()

    assert mailbox.to(HANA_EMAIL) == []
    assert len(mailbox.to(SMITH_EMAIL)) == 1
    [hana] = [row for row in reminder_rows(database) if row["household_id"] == HANA]
    assert (hana["outcome"], hana["error_code"]) == ("skipped", "household_not_active")


# -- metrics --------------------------------------------------------------------------------


def test_deliveries_are_counted_by_channel_template_and_outcome_and_the_queue_measured(
        service, clock):
    def count(template, outcome):
        labels = {"channel": "email", "template": template, "outcome": outcome}
        return REGISTRY.get_sample_value("shokudo_notification_deliveries_total", labels) or 0

    before = count("ticket_redeemed", "sent"), count("tickets_issued", "skipped")
    clock.set(LATE_EVENING)
    service.on_ticket_redeemed(ticket_redeemed(HANA))
    service.on_tickets_issued(tickets_issued(NO_MAIL))
    service.send_due()
    assert REGISTRY.get_sample_value("shokudo_notification_queue", {"state": "pending"}) == 1

    clock.set(NEXT_MORNING)
    service.send_due()
    after = count("ticket_redeemed", "sent"), count("tickets_issued", "skipped")
    assert [later - earlier for earlier, later in zip(before, after)] == [1, 1]
    assert REGISTRY.get_sample_value("shokudo_notification_queue", {"state": "pending"}) == 0
