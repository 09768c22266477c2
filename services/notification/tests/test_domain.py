from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notification import domain
from notification.policy import DeliveryPolicy

ORGANISATION_A = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"
ORGANISATION_B = "8e3a2b1f-4c5d-4e6f-9071-8293a4b5c6d7"


def contact(household_id, channel="app", email=None, organisation=ORGANISATION_A,
            external_ref=None, language="ja", organisation_email="staff@org.example"):
    return {
        "household_id": household_id, "channel": channel, "language": language,
        "email": email, "organisation_id": organisation, "organisation_name": "支援の会",
        "organisation_email": organisation_email, "external_ref": external_ref,
    }


def issue(*grants):
    return {
        "amount_yen": 3000, "first_day": date(2026, 3, 1), "last_day": date(2026, 3, 31),
        "grants": [{"household_id": household_id, "organisation_id": organisation}
                   for household_id, organisation in grants],
    }


def test_the_household_language_picks_the_variant():
    assert domain.languages_for("ja") == ("ja", "en")  # Japanese, English alongside
    assert domain.languages_for("en") == ("en",)       # English alone
    assert domain.languages_for(None) == ("ja", "en")
    assert domain.languages_of(domain.ORGANISATION_NOTICE, "en") == ("ja", "en")


def test_app_households_get_emails_and_card_households_one_notice_per_organisation():
    contacts = [
        contact("h1", email="one@example.jp"),
        contact("h2", "card", external_ref="A-10"),
        contact("h3", "card", external_ref="A-2"),
        contact("h4", "card", organisation=ORGANISATION_B, external_ref="B-1"),
    ]
    grants = issue(("h1", ORGANISATION_A), ("h2", ORGANISATION_A), ("h3", ORGANISATION_A),
                   ("h4", ORGANISATION_B))

    messages = domain.tickets_issued_messages(grants, contacts)

    emails = [m for m in messages if m.channel == domain.EMAIL]
    notices = {m.organisation_id: m for m in messages if m.channel == domain.ORGANISATION_NOTICE}
    assert [(m.household_id, m.address) for m in emails] == [("h1", "one@example.jp")]
    assert notices[ORGANISATION_A].facts["external_refs"] == ["A-2", "A-10"]
    assert notices[ORGANISATION_A].household_id is None
    assert notices[ORGANISATION_A].address == "staff@org.example"
    assert notices[ORGANISATION_B].facts["external_refs"] == ["B-1"]
    assert notices[ORGANISATION_A].facts["amount_yen"] == 3000


@pytest.mark.parametrize("known, expected_reason", [
    (contact("h1", email=None), domain.HOUSEHOLD_HAS_NO_EMAIL),
    (contact("h1", email="   "), domain.HOUSEHOLD_HAS_NO_EMAIL),
    (contact("h1", "card", organisation_email=None), domain.ORGANISATION_HAS_NO_EMAIL),
    (None, domain.CONTACT_UNKNOWN),
])
def test_a_household_that_cannot_be_reached_is_skipped_with_the_reason(known, expected_reason):
    contacts = [known] if known else []

    [message] = domain.tickets_issued_messages(issue(("h1", ORGANISATION_A)), contacts)

    assert message.skip_reason == expected_reason
    assert message.organisation_id == ORGANISATION_A
    assert message.address is None


def test_organisation_references_are_ordered_as_people_read_them():
    references = ["A-10", "A-2", "B-1", None, "A-1"]

    assert sorted(references, key=domain.reference_order) == [None, "A-1", "A-2", "A-10", "B-1"]


@pytest.mark.parametrize("valid_until, zone, last_day", [
    ("2026-04-01T00:00:00+09:00", "Asia/Tokyo", date(2026, 3, 31)),
    ("2026-03-31T15:00:00+00:00", "Asia/Tokyo", date(2026, 3, 31)),   # same instant, in UTC
    ("2026-04-01T10:00:00+00:00", "Pacific/Honolulu", date(2026, 3, 31)),
])
def test_the_last_day_is_the_local_day_before_the_window_closes(valid_until, zone, last_day):
    moment = datetime.fromisoformat(valid_until)

    assert domain.last_day_before(moment, ZoneInfo(zone)) == last_day


def test_a_receipt_shows_the_moment_of_the_meal_in_the_region_time_zone():
    redemption = {
        "household_id": "h1", "organisation_id": ORGANISATION_A, "applied_yen": 800,
        "balance_yen": 2200, "valid_until": datetime.fromisoformat("2026-03-31T15:00:00+00:00"),
        "at": datetime.fromisoformat("2026-03-31T14:59:00+00:00"),
    }

    [receipt] = domain.ticket_redeemed_messages(
        redemption, [contact("h1", email="one@example.jp")], "Asia/Tokyo")

    assert receipt.template == domain.TICKET_REDEEMED
    assert receipt.facts["at"].isoformat() == "2026-03-31T23:59:00+09:00"
    assert receipt.facts["last_day"] == date(2026, 3, 31)


def test_a_card_redemption_is_told_to_the_organisation_by_reference():
    redemption = {
        "household_id": "h2", "organisation_id": ORGANISATION_A, "applied_yen": 800,
        "balance_yen": 2200, "valid_until": datetime.fromisoformat("2026-04-01T00:00:00+09:00"),
        "at": datetime.fromisoformat("2026-03-12T18:30:00+09:00"),
    }

    [notice] = domain.ticket_redeemed_messages(
        redemption, [contact("h2", "card", external_ref="A-7")], "Asia/Tokyo")

    assert notice.channel == domain.ORGANISATION_NOTICE
    assert notice.template == domain.ORGANISATION_TICKET_REDEEMED
    assert notice.facts["external_ref"] == "A-7"
    assert notice.household_id is None


def test_a_message_never_shows_its_address_when_printed():
    [message] = domain.tickets_issued_messages(
        issue(("h1", ORGANISATION_A)), [contact("h1", email="secret@example.jp")])

    assert "secret@example.jp" not in repr(message)


# -- quiet hours, retries, channels ---------------------------------------------------------

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize("local, released", [
    (datetime(2026, 3, 12, 12, 0), datetime(2026, 3, 12, 12, 0)),   # daytime: at once
    (datetime(2026, 3, 12, 20, 59), datetime(2026, 3, 12, 20, 59)),
    (datetime(2026, 3, 12, 21, 0), datetime(2026, 3, 13, 8, 0)),    # evening: next morning
    (datetime(2026, 3, 12, 23, 30), datetime(2026, 3, 13, 8, 0)),
    (datetime(2026, 3, 13, 3, 0), datetime(2026, 3, 13, 8, 0)),     # night: this morning
    (datetime(2026, 3, 13, 8, 0), datetime(2026, 3, 13, 8, 0)),
])
def test_quiet_hours_hold_family_messages_until_eight_local_time(local, released):
    moment = local.replace(tzinfo=TOKYO).astimezone(ZoneInfo("UTC"))  # as the clock gives it

    due = domain.not_before(domain.EMAIL, moment, "Asia/Tokyo", domain.QuietHours())

    assert due == released.replace(tzinfo=TOKYO)


def test_quiet_hours_follow_the_region_time_zone_and_spare_organisation_staff():
    quiet = domain.QuietHours()
    noon_in_tokyo = datetime(2026, 3, 12, 12, 0, tzinfo=TOKYO)  # 17:00 in Honolulu, the day before

    assert domain.not_before(domain.SMS, noon_in_tokyo, "Pacific/Honolulu", quiet) == noon_in_tokyo
    late = datetime(2026, 3, 12, 23, 0, tzinfo=TOKYO)
    assert domain.not_before(domain.ORGANISATION_NOTICE, late, "Asia/Tokyo", quiet) == late
    assert domain.not_before(domain.PUSH, late, "Asia/Tokyo", None) == late


def test_quiet_hours_are_read_from_the_config():
    assert domain.QuietHours.parse("22:30-07:00") == domain.QuietHours(time(22, 30), time(7, 0))
    assert domain.QuietHours.parse("off") is None
    assert domain.QuietHours.parse("False") is None  # YAML's reading of a bare off


def test_each_pause_between_tries_is_longer_up_to_a_limit():
    retries = domain.Retries(max_attempts=5, first_pause=timedelta(minutes=1), factor=4,
                             longest_pause=timedelta(hours=1))

    pauses = [retries.pause_after(attempt) for attempt in range(1, 5)]

    assert pauses == [timedelta(minutes=1), timedelta(minutes=4), timedelta(minutes=16),
                      timedelta(hours=1)]
    assert not retries.exhausted(4) and retries.exhausted(5)


@pytest.mark.parametrize("preferred, phone, device, available, chosen", [
    (None, None, None, ("email",), ("email", None)),
    ("sms", "090-1", None, ("email", "sms"), ("sms", None)),
    ("sms", "090-1", None, ("email",), ("email", "sms")),       # no SMS provider here
    ("sms", None, None, ("email", "sms"), ("email", "sms")),    # no phone to text
    ("push", None, "token-1", ("email", "push"), ("push", None)),
    ("push", None, None, ("email", "push"), ("email", "push")),  # the app registered no device
    ("pigeon", None, None, ("email",), ("email", None)),  # unknown: email, nothing to report
])
def test_a_family_is_reached_through_its_preferred_channel_or_else_email(
        preferred, phone, device, available, chosen):
    household = dict(contact("h1", email="one@example.jp"), notify_by=preferred, phone=phone,
                     push_token=device)

    assert domain.family_channel(household, available) == chosen


def test_reminders_go_to_app_households_and_to_organisations_for_their_cards():
    tickets = [
        domain.DueTicket("h1", ORGANISATION_A, 1200, date(2026, 3, 31)),
        domain.DueTicket("h2", ORGANISATION_A, 3000, date(2026, 3, 31)),
        domain.DueTicket("h3", ORGANISATION_A, 500, date(2026, 3, 31)),
        domain.DueTicket("gone", ORGANISATION_A, 100, date(2026, 3, 31)),
    ]
    contacts = [contact("h1", email="one@example.jp"), contact("h2", "card", external_ref="A-10"),
                contact("h3", "card", external_ref="A-2")]

    messages = domain.reminder_messages(tickets, contacts)

    by_template = {(m.template, m.household_id): m for m in messages}
    family = by_template[(domain.TICKET_REMINDER, "h1")]
    assert family.facts == {"balance_yen": 1200, "last_day": date(2026, 3, 31)}
    notice = by_template[(domain.ORGANISATION_TICKET_REMINDER, None)]
    assert notice.facts["households"] == [{"external_ref": "A-2", "balance_yen": 500},
                                          {"external_ref": "A-10", "balance_yen": 3000}]
    assert notice.contact_household_id in {"h2", "h3"}
    assert by_template[(domain.TICKET_REMINDER, "gone")].skip_reason == domain.CONTACT_UNKNOWN


def test_the_delivery_policy_is_read_from_the_config():
    policy = DeliveryPolicy.from_config({
        "QUIET_HOURS": "22:00-07:30", "DELIVERY_MAX_ATTEMPTS": 3,
        "DELIVERY_RETRY_FIRST_SECONDS": 30, "DELIVERY_RETRY_FACTOR": 2,
    })

    assert policy.quiet_hours == domain.QuietHours(time(22, 0), time(7, 30))
    assert policy.retries.max_attempts == 3
    assert policy.retries.pause_after(2) == timedelta(seconds=60)
    assert DeliveryPolicy.from_config({"QUIET_HOURS": False}).quiet_hours is None
    assert DeliveryPolicy.from_config({}).quiet_hours == domain.QuietHours()
