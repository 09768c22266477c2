from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from jinja2 import UndefinedError

from notification import rendering

TICKET = {"amount_yen": 3000, "first_day": date(2026, 3, 1), "last_day": date(2026, 3, 31)}


def test_yen_and_dates_read_naturally_in_each_language():
    assert rendering.yen_ja(12345) == "12,345円"
    assert rendering.yen_en(12345) == "12,345 yen"
    assert rendering.date_ja(date(2026, 2, 28)) == "2026年2月28日（土）"
    assert rendering.date_en(date(2026, 2, 28)) == "Saturday 28 February 2026"
    moment = datetime(2026, 3, 12, 8, 5, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert rendering.datetime_ja(moment) == "2026年3月12日（木） 08:05"


def test_the_reader_language_leads_the_subject_and_the_body():
    japanese_first = rendering.render("tickets_issued", ("ja", "en"), TICKET)
    english_first = rendering.render("tickets_issued", ("en", "ja"), TICKET)

    assert japanese_first.subject == (
        "食事チケット（3,000円分）が届きました / Your meal ticket of 3,000 yen has arrived")
    assert english_first.subject.startswith("Your meal ticket")
    assert english_first.body.index("Amount") < english_first.body.index("金額")
    assert "\n" not in japanese_first.subject


@pytest.mark.parametrize("template", [
    "tickets_issued", "ticket_redeemed", "organisation_tickets_issued",
    "organisation_ticket_redeemed", "ticket_reminder", "organisation_ticket_reminder",
])
def test_every_template_has_a_subject_and_body_in_both_languages(template):
    facts = dict(
        TICKET, applied_yen=1000, balance_yen=2000, pay_at_counter_yen=500,
        organisation_name="支援の会",
        at=datetime(2026, 3, 12, 18, 30, tzinfo=ZoneInfo("Asia/Tokyo")),
        external_ref="A-1", external_refs=["A-1"],
        households=[{"external_ref": "A-1", "balance_yen": 2000}],
    )

    letter = rendering.render(template, ("ja", "en"), facts)

    japanese, english = letter.subject.split(" / ")
    assert japanese and english
    assert letter.body.count(rendering.BETWEEN_LANGUAGES.strip()) == 1


def test_a_missing_fact_fails_loudly_instead_of_printing_nothing():
    with pytest.raises(UndefinedError):
        rendering.render("tickets_issued", ("ja", "en"), {"amount_yen": 3000})


def test_the_reminder_says_what_is_left_and_until_when():
    facts = {"balance_yen": 1200, "last_day": date(2026, 3, 31)}

    japanese = rendering.render("ticket_reminder", ("ja", "en"), facts)
    english = rendering.render("ticket_reminder", ("en",), facts)

    assert japanese.subject.startswith("3月31日まで ¥1,200 残っています / ")
    assert english.subject == "1,200 yen left on your meal ticket until Tuesday 31 March 2026"
    assert "残って" not in english.body and rendering.BETWEEN_LANGUAGES not in english.body


# The longest facts a family's SMS can carry: five-figure yen amounts, two-digit days.
LONGEST_FACTS = {
    "amount_yen": 99_999, "balance_yen": 99_999, "applied_yen": 99_999,
    "pay_at_counter_yen": 99_999, "first_day": date(2026, 12, 1),
    "last_day": date(2026, 12, 31), "at": datetime(2026, 12, 31, 23, 59),
}


@pytest.mark.parametrize("template", ["tickets_issued", "ticket_redeemed", "ticket_reminder"])
@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_family_sms_fits_one_segment_in_its_language(template, language):
    letter = rendering.render_for("sms", template, (language,) if language == "en"
                                  else ("ja", "en"), LONGEST_FACTS)

    assert letter.body and "\n" not in letter.body
    assert len(letter.body) <= rendering.SMS_LIMITS[language]
    assert ("円" in letter.body or "¥" in letter.body) if language == "ja" else letter.body.isascii()
