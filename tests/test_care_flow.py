"""Staying connected, every service a process on the real broker and databases: a restaurant's
concern reaches the organisation that referred the household and no one else, then the family
moves to another organisation, which from then on sees its usage and receives its notices."""

from datetime import datetime

import pytest

from shokudo_common.client import ApiError

from support import body_text, current_period, messages_to, wait_until

REGION = "care-ku"
AOBA_EMAIL, HIKARI_EMAIL = "aoba@example.org", "hikari@example.org"
NOTE = "とてもお腹を空かせていて、元気がありませんでした"
RESTAURANT = {
    "name": "こもれび食堂", "name_kana": "コモレビショクドウ", "address": "ケア区1-2-3",
    "area": "中央", "latitude": 35.62, "longitude": 139.72, "phone": "03-2222-3333",
    "opening_hours": {day: [{"opens": "00:00", "closes": "00:00"}]
                      for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}
HOUSEHOLD = {
    "external_ref": "K-001", "guardian_name": "鈴木 良子", "guardian_name_kana": "スズキ ヨシコ",
    "phone": "090-5555-6666", "postcode": "123-4500", "address": "ケア区4-5-6",
    "children": 2, "channel": "card", "language": "ja",
}


@pytest.fixture(scope="module")
def world(operator, staff):
    """Two organisations of the region, a restaurant あおば trusts, a card family of あおば
    with this month's ticket usable at the counter."""
    operator.put(f"/v1/regions/{REGION}/program", {"name": "ケア区こども食堂"})
    aoba = operator.post(f"/v1/regions/{REGION}/organisations", {
        "name": "あおば子ども支援", "household_cap": 5, "contact_email": AOBA_EMAIL,
        "contact_phone": "03-0000-0011"})
    hikari = operator.post(f"/v1/regions/{REGION}/organisations", {
        "name": "ひかり会", "household_cap": 5, "contact_email": HIKARI_EMAIL,
        "contact_phone": "03-0000-0012"})
    clients = {"aoba": staff("organisation", organisation_id=aoba["id"]),
               "hikari": staff("organisation", organisation_id=hikari["id"])}
    restaurant = clients["aoba"].post(f"/v1/organisations/{aoba['id']}/restaurants", RESTAURANT)
    operator.post(f"/v1/restaurants/{restaurant['id']}/approve")
    household = clients["aoba"].post(f"/v1/organisations/{aoba['id']}/households", HOUSEHOLD)

    period, _ = current_period()
    wait_until(lambda: operator.get(f"/v1/regions/{REGION}/roster-count")["count"] == 1,
               what="issuance learning of the household")
    operator.post(f"/v1/regions/{REGION}/issuance-runs", {"period": str(period)})
    counter = staff("restaurant", restaurant_id=restaurant["id"])
    return {"aoba": aoba, "hikari": hikari, "staff": clients, "restaurant": restaurant,
            "household": household, "counter": counter}


def pay(world, bill_yen):
    restaurant = world["restaurant"]["id"]

    def applied():
        answer = world["counter"].post(f"/v1/restaurants/{restaurant}/redemptions", {
            "bill_yen": bill_yen, "card_number": world["household"]["card_number"]})
        return answer if answer["outcome"] == "applied" else None

    return wait_until(applied, what="the card's ticket usable at the counter")


def concerns_of(world, name):
    organisation = world[name]["id"]
    return world["staff"][name].get(f"/v1/organisations/{organisation}/concerns")


def test_a_concern_reaches_the_referring_organisation_and_no_one_else(stack, world):
    meal = pay(world, 800)
    restaurant = world["restaurant"]["id"]

    raised = world["counter"].post(
        f"/v1/restaurants/{restaurant}/redemptions/{meal['redemption_id']}/concerns",
        {"category": "hunger", "note": NOTE})

    [concern] = wait_until(lambda: concerns_of(world, "aoba"),
                           what="the concern reaching あおば")
    assert concern["concern_id"] == raised["concern_id"]
    assert (concern["household_id"], concern["external_ref"]) == (
        world["household"]["id"], "K-001")
    assert (concern["note"], concern["status"]) == (NOTE, "open")
    assert concern["restaurant_name"] == RESTAURANT["name"]
    assert concern["category_label"] == {"ja": "空腹・食事", "en": "Hunger"}
    # In the region's local time: its program (Asia/Tokyo, the default) reached enrollment.
    assert concern["raised_at"].endswith("+09:00")
    assert concerns_of(world, "hikari") == []
    with pytest.raises(ApiError) as refused:
        world["staff"]["hikari"].post(
            f"/v1/organisations/{world['hikari']['id']}/concerns/{concern['concern_id']}"
            "/acknowledge")
    assert refused.value.status == 404

    notice = wait_until(lambda: [m for m in messages_to(stack.mail_dir, AOBA_EMAIL)
                                 if "気づき" in str(m["Subject"])], what="あおば's notice")
    assert NOTE not in body_text(notice[0]) and "K-001" not in body_text(notice[0])
    assert not [m for m in messages_to(stack.mail_dir, HIKARI_EMAIL)
                if "気づき" in str(m["Subject"])]

    world["staff"]["aoba"].post(
        f"/v1/organisations/{world['aoba']['id']}/concerns/{concern['concern_id']}/acknowledge")
    [seen] = world["counter"].get(f"/v1/restaurants/{restaurant}/concerns")
    assert datetime.fromisoformat(seen.pop("raised_at")) == datetime.fromisoformat(
        raised["raised_at"])
    assert seen == {"concern_id": raised["concern_id"], "category": "hunger",
                    "category_label": {"ja": "空腹・食事", "en": "Hunger"},
                    "status": "acknowledged", "redemption_id": meal["redemption_id"]}
    day = world["counter"].get(f"/v1/restaurants/{restaurant}/redemptions")
    assert meal["redemption_id"] in [line["redemption_id"] for line in day["lines"]]
    assert "household_id" not in str(day) and "鈴木" not in str(day)


def test_a_moved_family_keeps_its_ticket_and_its_new_organisation_follows_it(stack, world):
    aoba, hikari = world["aoba"]["id"], world["hikari"]["id"]
    household = world["household"]["id"]
    left_before = pay(world, 100)["balance_yen"]

    moved = world["staff"]["aoba"].post(
        f"/v1/organisations/{aoba}/households/{household}/move",
        {"to_organisation_id": hikari})

    assert moved["organisation_id"] == hikari and moved["in_force_at_counter"] is True
    assert moved["card_reprint_needed"] is True
    # The concern raised before the move is the new organisation's now, and the old one's no more.
    assert concerns_of(world, "aoba") == []
    [concern] = concerns_of(world, "hikari")
    assert (concern["household_id"], concern["status"]) == (household, "acknowledged")
    with pytest.raises(ApiError) as gone:
        world["staff"]["aoba"].get(f"/v1/organisations/{aoba}/households/{household}")
    assert gone.value.status == 404
    assert world["staff"]["hikari"].get(
        f"/v1/organisations/{hikari}/households/{household}")["external_ref"] == "K-001"

    assert world["staff"]["aoba"].get(f"/v1/organisations/{aoba}/usage")["households"] == []
    [line] = world["staff"]["hikari"].get(f"/v1/organisations/{hikari}/usage")["households"]
    assert (line["household_id"], line["left_yen"]) == (household, left_before)

    later = pay(world, 300)
    assert later["balance_yen"] == left_before - 300
    # The notice of this meal (300 yen used, 1,800 left) goes to the new organisation.
    wait_until(lambda: [m for m in messages_to(stack.mail_dir, HIKARI_EMAIL)
                        if "K-001" in str(m["Subject"]) and "300円" in body_text(m)
                        and f"{later['balance_yen']:,}円" in body_text(m)],
               what="the card notice of the later meal reaching ひかり会")
