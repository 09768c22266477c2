import pytest
from nameko.testing.services import worker_factory

from shokudo_common.errors import Conflict, InvalidInput, NotFound
from shokudo_common.testing import outbox_writer

from directory.models import Restaurant
from directory.service import DirectoryService

ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"


def nomination(**overrides):
    data = {
        "region_id": "hoshizora-ku",
        "organisation_id": ORGANISATION,
        "name": "みどり食堂",
        "name_kana": "ミドリショクドウ",
        "address": "星空区青葉1-2-3",
        "area": "青葉",
        "latitude": 35.70,
        "longitude": 139.70,
        "phone": "03-1234-5678",
        "opening_hours": {"mon": [{"opens": "11:00", "closes": "21:00"}]},
        "flags": ["children_alone_welcome"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def service(session):
    return worker_factory(DirectoryService, db=session, outbox=outbox_writer())


def test_a_nominated_restaurant_waits_for_approval_and_announces_nothing(service, database):
    restaurant = service.nominate_restaurant(nomination())

    assert restaurant["status"] == "pending"
    assert restaurant["opening_hours"]["sat"] == []
    assert restaurant["flag_labels"] == [{"code": "children_alone_welcome",
                                          "ja": "子どもだけでも歓迎",
                                          "en": "Children on their own welcome"}]
    [listed] = service.list_restaurants("hoshizora-ku")
    assert listed["flag_labels"] == restaurant["flag_labels"]
    assert database.outbox_events() == []


def test_approval_activates_the_restaurant_and_announces_that_it_joined(service, database):
    restaurant = service.nominate_restaurant(nomination())

    approved = service.approve_restaurant(restaurant["id"])

    assert approved["status"] == "active"
    [joined] = database.outbox_events("restaurant_joined")
    assert joined["restaurant_id"] == restaurant["id"]
    assert joined["region_id"] == "hoshizora-ku"
    assert joined["status"] == "active"
    assert joined["event_id"]


def test_suspension_is_announced_and_a_second_approval_is_refused(service, database):
    restaurant = service.nominate_restaurant(nomination())
    service.approve_restaurant(restaurant["id"])

    service.suspend_restaurant(restaurant["id"], "closed for renovation")

    assert [event["status"] for event in database.outbox_events()] == ["active", "suspended"]
    with pytest.raises(Conflict):
        service.approve_restaurant(restaurant["id"])


def test_each_announced_change_of_a_restaurant_carries_the_next_version(
        service, database, session):
    restaurant = service.nominate_restaurant(nomination())
    neighbour = service.nominate_restaurant(nomination(name="うみ亭"))
    service.approve_restaurant(neighbour["id"])

    service.approve_restaurant(restaurant["id"])
    service.update_restaurant(restaurant["id"], {"name": "みどり食堂 本店"})
    service.suspend_restaurant(restaurant["id"], "closed for renovation")
    service.reinstate_restaurant(restaurant["id"])

    # Outbox order is the order of the changes; versions must climb by one along it.
    announced = [(event["status"], event["version"]) for event in database.outbox_events()
                 if event["restaurant_id"] == restaurant["id"]]
    assert announced == [("active", 1), ("active", 2), ("suspended", 3), ("active", 4)]
    assert [event["version"] for event in database.outbox_events()
            if event["restaurant_id"] == neighbour["id"]] == [1]
    session.expire_all()
    assert session.get(Restaurant, restaurant["id"]).version == 4


def test_a_refused_change_announces_nothing_and_keeps_the_version(service, database, session):
    restaurant = service.nominate_restaurant(nomination())
    service.approve_restaurant(restaurant["id"])

    with pytest.raises(Conflict):
        service.reinstate_restaurant(restaurant["id"])

    assert [event["version"] for event in database.outbox_events()] == [1]
    session.expire_all()
    assert session.get(Restaurant, restaurant["id"]).version == 1


def test_bad_nomination_names_every_bad_field_and_writes_nothing(service, session):
    with pytest.raises(InvalidInput) as raised:
        service.nominate_restaurant(nomination(name=" ", latitude=123, phone="abc",
                                               opening_hours={"mon": [{"opens": "25:00"}]}))

    fields = raised.value.details["fields"]
    assert set(fields) == {"name", "latitude", "phone", "opening_hours"}
    assert service.list_restaurants("hoshizora-ku") == []


def test_restaurants_are_listed_by_region_and_status(service):
    first = service.nominate_restaurant(nomination())
    service.nominate_restaurant(nomination(region_id="other-ku", name="うみ亭"))
    service.approve_restaurant(first["id"])

    active = service.list_restaurants("hoshizora-ku", status="active")

    assert [restaurant["id"] for restaurant in active] == [first["id"]]


def test_an_unknown_restaurant_is_not_found(service):
    with pytest.raises(NotFound):
        service.get_restaurant("00000000-0000-0000-0000-000000000000")
