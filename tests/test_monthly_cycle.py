"""The monthly cycle through the gateway, every service a process on the real broker and database:
enrol from a spreadsheet, issue, eat, receive the receipt, read the statement."""

import csv
import io

import pytest

from shokudo_common.client import ApiError

from support import body_text, current_period, messages_to, wait_until

REGION = "cycle-ku"
HEADERS = "管理番号,保護者氏名,保護者氏名（フリガナ）,電話番号,メールアドレス,郵便番号,住所,子どもの人数,利用方法,言語"
ROWS = [
    "C-001,山田 花子,ヤマダ ハナコ,０９０－１１１１－２２２２,hanako@example.jp,１２３－４５６７,"
    "サイクル区1-1-1,２,アプリ,日本語",
    "C-002,佐藤 健,サトウ ケン,090-3333-4444,,123-4568,サイクル区2-2-2,1,カード,日本語",
    "C-003,Smith Anna,スミス アンナ,,anna@example.com,123-4569,サイクル区3-3-3,3,アプリ,英語",
]
RESTAURANT = {
    "name": "ひだまり食堂",
    "name_kana": "ヒダマリショクドウ",
    "address": "サイクル区1-2-3",
    "area": "中央",
    "latitude": 35.61,
    "longitude": 139.71,
    "phone": "03-1111-2222",
    "opening_hours": {day: [{"opens": "00:00", "closes": "00:00"}]
                      for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}


@pytest.fixture(scope="module")
def region(gateway, operator, staff):
    """A region with a program, two organisations and one approved restaurant."""
    operator.put(f"/v1/regions/{REGION}/program", {"name": "サイクル区こども食堂"})
    first = operator.post(f"/v1/regions/{REGION}/organisations", {
        "name": "NPO法人サイクル", "household_cap": 10, "contact_email": "npo@example.org",
        "contact_phone": "03-0000-0001",
    })
    second = operator.post(f"/v1/regions/{REGION}/organisations", {
        "name": "サイクル子ども会", "household_cap": 10, "contact_email": "kai@example.org",
        "contact_phone": "03-0000-0002",
    })
    organisation_staff = staff("organisation", organisation_id=first["id"])
    restaurant = organisation_staff.post(f"/v1/organisations/{first['id']}/restaurants",
                                         RESTAURANT)
    operator.post(f"/v1/restaurants/{restaurant['id']}/approve")
    return {"first": first, "second": second, "staff": organisation_staff,
            "restaurant": restaurant}


@pytest.fixture(scope="module")
def households(region):
    """The first organisation's spreadsheet, in Shift_JIS, imported through the gateway."""
    csv_bytes = "\r\n".join([HEADERS, *ROWS]).encode("cp932") + b"\r\n"
    organisation = region["first"]["id"]
    report = region["staff"].post(
        f"/v1/organisations/{organisation}/households/import?dry_run=false",
        data=csv_bytes, headers={"Content-Type": "text/csv"},
    )
    assert report["summary"]["created"] == 3, report
    codes = {row["household_id"]: row.get("activation_code") for row in report["rows"]}
    listed = region["staff"].get(f"/v1/organisations/{organisation}/households")
    return {household["external_ref"]: dict(household, activation_code=codes[household["id"]])
            for household in _items(listed)}


def _items(listing):
    return listing["items"] if isinstance(listing, dict) else listing


@pytest.fixture(scope="module")
def issued(operator, households):
    period, _ = current_period()
    wait_until(
        lambda: operator.get(f"/v1/regions/{REGION}/roster-count")["count"] == 3,
        what="issuance learning of the three households",
    )
    run = operator.post(f"/v1/regions/{REGION}/issuance-runs", {"period": str(period)})
    assert run["households"] == 3
    assert run["yen_granted"] == 9000
    return run


def _household_client(gateway, household):
    activated = gateway.post("/v1/app/activate",
                             {"activation_code": household["activation_code"]})
    return gateway.as_(activated["access_token"])


def test_a_family_eats_and_receives_its_receipt(stack, gateway, staff, region, households,
                                                issued):
    family = _household_client(gateway, households["C-001"])
    ticket = wait_until(lambda: _usable(family), what="the ticket reaching redemption")
    assert ticket["balance_yen"] == 3000

    token = family.post("/v1/app/me/qr")["token"]
    restaurant = region["restaurant"]["id"]
    counter = staff("restaurant", restaurant_id=restaurant)
    answer = counter.post(f"/v1/restaurants/{restaurant}/redemptions",
                          {"bill_yen": 4200, "qr_token": token})

    assert answer["outcome"] == "applied"
    assert (answer["applied_yen"], answer["pay_at_counter_yen"], answer["balance_yen"]) == (
        3000, 1200, 0)
    assert "ヤマダ" not in str(answer) and "hanako" not in str(answer)
    receipts = wait_until(
        lambda: [m for m in messages_to(stack.mail_dir, "hanako@example.jp") if _is_receipt(m)],
        what="the receipt email",
    )
    text = body_text(receipts[0])
    assert "3,000円" in text or "3000円" in text
    assert "yen" in text.lower()


def _is_receipt(message):
    text = body_text(message)
    return "残高" in text or "balance" in text.lower()


def _usable(family):
    balance = family.get("/v1/app/me/ticket")
    return balance["ticket"] if balance["has_usable_ticket"] else None


def test_a_card_family_pays_part_and_keeps_the_rest(staff, region, households, issued):
    restaurant = region["restaurant"]["id"]
    counter = staff("restaurant", restaurant_id=restaurant)

    def redeem():
        answer = counter.post(f"/v1/restaurants/{restaurant}/redemptions",
                              {"bill_yen": 1000, "card_number": households["C-002"]["card_number"]})
        return answer if answer["outcome"] == "applied" else None

    answer = wait_until(redeem, what="the card ticket becoming usable")
    assert (answer["applied_yen"], answer["pay_at_counter_yen"], answer["balance_yen"]) == (
        1000, 0, 2000)


def test_the_statement_adds_up_the_restaurants_redemptions(staff, region, issued):
    restaurant = region["restaurant"]["id"]
    counter = staff("restaurant", restaurant_id=restaurant)
    _, this_month = current_period()

    statement = counter.get(f"/v1/restaurants/{restaurant}/statements/{this_month}")

    assert statement["total_yen"] == sum(line["applied_yen"] for line in statement["lines"])
    assert statement["total_yen"] >= 3000


def test_running_the_same_period_again_grants_nothing_twice(operator, issued):
    again = operator.post(f"/v1/regions/{REGION}/issuance-runs", {"period": issued["period"]})

    assert again["run_id"] == issued["run_id"]
    assert (again["households"], again["yen_granted"]) == (3, 9000)


def test_another_organisation_cannot_see_these_households(staff, region, households):
    other = staff("organisation", organisation_id=region["second"]["id"])
    household = households["C-001"]

    with pytest.raises(ApiError) as refused:
        other.get(f"/v1/organisations/{region['first']['id']}/households/{household['id']}")
    assert (refused.value.status, refused.value.code) == (404, "organisation_not_found")
    listed = other.get(f"/v1/organisations/{region['second']['id']}/households")
    assert _items(listed) == []


def test_a_mistaken_redemption_is_voided_and_the_books_still_add_up(
        gateway, operator, staff, region, households, issued):
    restaurant = region["restaurant"]["id"]
    counter = staff("restaurant", restaurant_id=restaurant)
    card = households["C-002"]["card_number"]
    _, this_month = current_period()

    mistake = wait_until(lambda: _applied(counter.post(
        f"/v1/restaurants/{restaurant}/redemptions", {"bill_yen": 700, "card_number": card})),
        what="the card ticket becoming usable")
    voided = counter.post(
        f"/v1/restaurants/{restaurant}/redemptions/{mistake['redemption_id']}/void")

    assert voided["voided_yen"] == 700
    assert voided["balance_yen"] == mistake["balance_yen"] + 700
    statement = counter.get(f"/v1/restaurants/{restaurant}/statements/{this_month}")
    assert mistake["redemption_id"] not in [line["redemption_id"] for line in statement["lines"]]

    csv_text = operator.request(
        "GET", f"/v1/regions/{REGION}/settlements/{this_month}.csv").content.decode("utf-8-sig")
    [line] = [row for row in csv.DictReader(io.StringIO(csv_text))
              if row["restaurant_id"] == restaurant]
    assert int(line["yen_owed"]) == statement["total_yen"]

    books = wait_until(lambda: _balanced(operator.get(
        f"/v1/regions/{REGION}/accounts/{issued['period']}")), what="the books balancing")
    assert books["balanced"] is True


def _applied(answer):
    return answer if answer["outcome"] == "applied" else None


def _balanced(books):
    return books if books["balanced"] else None
