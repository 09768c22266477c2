from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from notification import domain

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
