"""Personal data stays in enrollment: after a whole month through the gateway, no process has
logged a family's name, phone, email or address, and nothing a restaurant was ever answered
names a household.

The households are the demo ward's own, from the organisations' spreadsheet exports in
demo/data/ (the first lines of each file, in its own encoding), enrolled in a region of this
test's own. They are issued tickets, pay by card and by QR code, one bill is voided, and the
statements and the settlement file are read; then every log line of every process is read
back, JSON decoded, and searched for each value as typed and as normalised.

This test looks at the logs in the middle of the run; tests/privacy_watch.py looks at every log
of the whole run, against every household any test enrolled, once the run is over.
"""

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from gateway.auth import RESTAURANT
from gateway.http import ROUTES
from gateway.service import GatewayService  # noqa: F401 - declares every route in ROUTES

from privacy_watch import personal_values
from support import current_period, messages_to, wait_until

REGION = "privacy-ku"
DATA = Path(__file__).resolve().parents[1] / "demo" / "data"
LINES_PER_FILE = 12



def demo_json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def first_lines(entry):
    """The header and the first lines of an organisation's export, bytes as exported."""
    raw = (DATA / entry["csv"]).read_bytes()
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(newline)
    return newline.join(lines[:LINES_PER_FILE + 1]) + newline


def rows_of(sheet, encoding):
    return list(csv.DictReader(io.StringIO(sheet.decode(encoding))))


# -- the values that must never show -------------------------------------------------------------

def found_in(text, values):
    return sorted(value for value in values if value in text)


def readable(log_text):
    """Each JSON line with its non-ASCII text decoded (the formatter escapes it), and every
    other line (a traceback) as it is."""
    lines = []
    for line in log_text.splitlines():
        try:
            lines.append(json.dumps(json.loads(line), ensure_ascii=False))
        except ValueError:
            lines.append(line)
    return "\n".join([log_text, *lines])


# -- the month, through the gateway --------------------------------------------------------------

@pytest.fixture(scope="module")
def ward(gateway, operator, staff):
    """The region, its three organisations with their first households, three restaurants."""
    operator.put(f"/v1/regions/{REGION}/program", {"name": "プライバシー区こども食堂"})
    organisations, rows = [], []
    for entry in demo_json("organisations.json"):
        created = operator.post(f"/v1/regions/{REGION}/organisations", {
            name: entry[name] for name in ("name", "household_cap", "contact_email",
                                           "contact_phone")})
        organisation_staff = staff("organisation", organisation_id=created["id"])
        sheet = first_lines(entry)
        report = organisation_staff.post(
            f"/v1/organisations/{created['id']}/households/import?dry_run=false", data=sheet,
            headers={"Content-Type": "text/csv", "X-Access-Reason": quote("紹介票の取り込み")})
        assert report["summary"]["created"] == LINES_PER_FILE, report
        rows += rows_of(sheet, entry["encoding"])
        organisations.append({"entry": entry, "id": created["id"], "staff": organisation_staff,
                              "report": report})

    restaurants = [_restaurant(staff, operator, organisations, entry)
                   for entry in _one_restaurant_each(organisations)]
    return {"organisations": organisations, "restaurants": restaurants, "rows": rows}


def _one_restaurant_each(organisations):
    entries = demo_json("restaurants.json")
    return [next(entry for entry in entries if entry["nominated_by"] == org["entry"]["key"])
            for org in organisations]


def _restaurant(staff, operator, organisations, entry):
    [nominating] = [org for org in organisations if org["entry"]["key"] == entry["nominated_by"]]
    details = {name: value for name, value in entry.items()
               if name not in ("nominated_by", "id", "key")}
    nominated = nominating["staff"].post(f"/v1/organisations/{nominating['id']}/restaurants",
                                         details)
    operator.post(f"/v1/restaurants/{nominated['id']}/approve")
    counter = staff("restaurant", restaurant_id=nominated["id"])
    return {"id": nominated["id"], "counter": counter}


@pytest.fixture(scope="module")
def households(ward):
    """Every household as its organisation sees it, with the code printed on its letter."""
    known = []
    for org in ward["organisations"]:
        codes = {row["household_id"]: row.get("activation_code") for row in org["report"]["rows"]}
        listed = _items(org["staff"].get(f"/v1/organisations/{org['id']}/households",
                                         headers={"X-Access-Reason": "monthly-review"}))
        org["staff"].get(f"/v1/organisations/{org['id']}/households/{listed[0]['id']}")
        # The office's papers go through the same logs: the export and a sheet of cards.
        org["staff"].request("GET", f"/v1/organisations/{org['id']}/households.csv")
        org["staff"].request("GET", f"/v1/organisations/{org['id']}/cards.pdf")
        known += [dict(household, activation_code=codes[household["id"]])
                  for household in listed]
    return known


@pytest.fixture(scope="module")
def month(stack, gateway, operator, ward, households):
    """Issue the region's tickets, then a month of bills: the answers restaurants were given."""
    period, _ = current_period()
    wait_until(lambda: operator.get(f"/v1/regions/{REGION}/roster-count")["count"]
               == len(households), what="issuance learning of every household")
    operator.post(f"/v1/regions/{REGION}/issuance-runs", {"period": str(period)})

    seen = []  # every response a restaurant received, as text
    counters = ward["restaurants"]
    cards = [h for h in households if h["channel"] == "card"][:4]
    apps = [h for h in households if h["channel"] == "app" and h["email"]][:4]

    for number, household in enumerate(cards):
        restaurant = counters[number % len(counters)]
        seen.append(_paid(restaurant, {"bill_yen": 800, "card_number": household["card_number"]}))
    misread = cards[0]["card_number"][:-1] + str((int(cards[0]["card_number"][-1]) + 1) % 10)
    seen.append(_redeem(counters[0], {"bill_yen": 800, "card_number": misread}))

    for number, household in enumerate(apps):
        restaurant = counters[number % len(counters)]
        family = _family(gateway, household)
        token = wait_until(lambda: _qr(family), what="the app's ticket")
        seen.append(_paid(restaurant, {"bill_yen": 1200, "qr_token": token}))
        seen.append(_redeem(restaurant, {"bill_yen": 500, "qr_token": token}))  # a screenshot

    mistake = json.loads(seen[0])
    restaurant = counters[0]
    seen.append(restaurant["counter"].request(
        "POST", f"/v1/restaurants/{restaurant['id']}/redemptions/{mistake['redemption_id']}"
                "/void").text)
    seen += _restaurant_routes(counters, mistake["redemption_id"])

    _, this_month = current_period()
    settlement = operator.request("GET", f"/v1/regions/{REGION}/settlements/{this_month}.csv")
    wait_until(lambda: all(messages_to(stack.mail_dir, h["email"]) for h in apps),
               what="the receipts reaching the families", timeout=60)
    return {"restaurant_answers": seen, "settlement": settlement.content.decode("utf-8-sig"),
            "apps": apps, "cards": cards}


def _items(listing):
    return listing["items"] if isinstance(listing, dict) else listing


def _redeem(restaurant, bill):
    return restaurant["counter"].request(
        "POST", f"/v1/restaurants/{restaurant['id']}/redemptions", json=bill).text


def _paid(restaurant, bill):
    """The answer of a bill that applied, once the ticket has reached the counter."""
    return wait_until(lambda: _applied(_redeem(restaurant, bill)), what="the bill applying")


def _applied(text):
    return text if json.loads(text)["outcome"] == "applied" else None


def _family(gateway, household):
    activated = gateway.post("/v1/app/activate", {"activation_code": household["activation_code"]})
    return gateway.as_(activated["access_token"])


def _qr(family):
    response = family.request("POST", "/v1/app/me/qr", expect=None)
    return response.json()["token"] if response.status_code == 200 else None


def _restaurant_routes(counters, redemption_id):
    """Every GET route open to restaurants, for each restaurant: statements and any added later.

    A route whose path names something this test cannot fill fails here, so that a new
    restaurant route is added to the test instead of escaping it.
    """
    today = datetime.now(ZoneInfo("Asia/Tokyo"))
    period, this_month = current_period()
    values = {"month": str(this_month), "period": str(period), "redemption_id": redemption_id,
              "date": today.date().isoformat()}
    answers = []
    for spec in ROUTES:
        if spec.method != "GET" or RESTAURANT not in (spec.serves or ()):
            continue
        for restaurant in counters:
            path = re.sub(r"<(\w+)>", lambda name: _fill(spec.url, name.group(1), values,
                                                         restaurant["id"]), spec.url)
            answers.append(restaurant["counter"].request("GET", path, expect=None).text)
    return answers


def _fill(url, name, values, restaurant_id):
    if name == "restaurant_id":
        return restaurant_id
    assert name in values, f"{url}: give the privacy test a value for <{name}>"
    return values[name]


# -- what must never show ------------------------------------------------------------------------

def test_no_process_logged_a_family_s_name_phone_email_or_address(stack, ward, month):
    values = personal_values(ward["rows"])
    assert len(values) > 100  # names, kana, phones, emails, addresses, in several spellings
    logs = sorted((stack.var_dir / "logs").glob("*.log"))
    assert {path.stem.rsplit("-", 1)[0] for path in logs} >= {
        "gateway", "enrollment", "issuance", "redemption", "notification", "directory"}

    leaks = {path.name: found_in(readable(path.read_text(encoding="utf-8", errors="replace")),
                                 values)
             for path in logs}

    assert {name: found for name, found in leaks.items() if found} == {}


def test_no_log_holds_an_activation_code_or_a_card_number(stack, households, month):
    secrets = {h["activation_code"] for h in households if h["activation_code"]}
    secrets |= {h["card_number"] for h in households if h["card_number"]}
    logs = sorted((stack.var_dir / "logs").glob("*.log"))

    leaks = {path.name: found_in(readable(path.read_text(encoding="utf-8", errors="replace")),
                                 secrets)
             for path in logs}

    assert {name: found for name, found in leaks.items() if found} == {}


def test_nothing_a_restaurant_was_answered_names_a_household(ward, households, month):
    values = personal_values(ward["rows"]) | {household["id"] for household in households}
    answers = month["restaurant_answers"]
    # Some reads answer a list (the concerns a restaurant raised); only objects have outcomes.
    objects = [answer for answer in map(json.loads, answers) if isinstance(answer, dict)]
    outcomes = [answer.get("outcome") for answer in objects]
    assert outcomes.count("applied") == len(month["cards"]) + len(month["apps"])
    assert outcomes.count("voided") == 1
    declines = [answer.get("reason") for answer in objects]
    assert {"card_number_invalid", "qr_token_already_used"} <= set(declines)
    assert sum('"lines"' in text for text in answers) >= len(ward["restaurants"])

    assert [found_in(text, values) for text in answers if found_in(text, values)] == []
    assert found_in(month["settlement"], values) == []


def test_the_trail_of_these_accesses_names_fields_never_values(ward, households, month):
    values = personal_values(ward["rows"])
    org = ward["organisations"][0]

    trail = org["staff"].get(f"/v1/organisations/{org['id']}/audit")

    actions = {record["action"] for record in trail["records"]}
    assert {"household.import.enrol", "household.list", "household.read", "household.export",
            "household.card_sheet"} <= actions
    assert {record["reason"] for record in trail["records"]} >= {"紹介票の取り込み",
                                                                 "monthly-review"}
    assert found_in(json.dumps(trail, ensure_ascii=False), values) == []


def test_an_organisation_cannot_read_another_s_trail(ward, households):
    first, second = ward["organisations"][:2]

    refused = first["staff"].request("GET", f"/v1/organisations/{second['id']}/audit",
                                     expect=None)

    # The very answer an unknown organisation gets: not even whether it exists.
    assert refused.status_code == 404
