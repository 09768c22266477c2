import pytest

from shokudo_common.errors import InvalidInput, NotFound

REGION = "hoshizora-ku"


def test_a_new_program_takes_the_platform_defaults(service):
    program = service.upsert_program(REGION, {"name": "星空区こども食堂"})

    assert program["region_id"] == REGION
    assert (program["amount_yen"], program["issue_day"], program["time_zone"]) == (
        3000, 20, "Asia/Tokyo")
    assert (program["void_window_hours"], program["late_enrolment"]) == (0, "grant_now")
    assert program["restaurant_scope"] == "region"
    assert service.get_program(REGION) == program


def test_saving_a_program_again_replaces_it(service):
    first = service.upsert_program(REGION, {"name": "星空区こども食堂"})

    program = service.upsert_program(REGION, {
        "name": "星空区こども食堂", "amount_yen": 5000, "issue_day": 25,
        "time_zone": "America/Los_Angeles",
    })

    assert (program["amount_yen"], program["issue_day"], program["time_zone"]) == (
        5000, 25, "America/Los_Angeles")
    assert program["created_at"] == first["created_at"]
    assert service.list_programs() == [program]


def test_programs_are_listed_by_region(service):
    service.upsert_program("umibe-cho", {"name": "海辺町"})
    service.upsert_program(REGION, {"name": "星空区"})

    assert [program["region_id"] for program in service.list_programs()] == [
        REGION, "umibe-cho"]


def test_a_bad_program_names_every_bad_field_and_saves_nothing(service):
    with pytest.raises(InvalidInput) as raised:
        service.upsert_program("Hoshizora Ku", {
            "name": " ", "amount_yen": 0, "issue_day": 29, "time_zone": "Mars/Olympus",
        })

    assert set(raised.value.details["fields"]) == {
        "region_id", "name", "amount_yen", "issue_day", "time_zone"}
    assert service.list_programs() == []


@pytest.mark.parametrize("changes, field", [
    ({"void_window_hours": 73}, "void_window_hours"),
    ({"void_window_hours": -1}, "void_window_hours"),
    ({"late_enrolment": "never"}, "late_enrolment"),
    ({"restaurant_scope": "anywhere"}, "restaurant_scope"),
    ({"amount_yen": 100_001}, "amount_yen"),
    ({"amount_yen": "3000"}, "amount_yen"),
    ({"issue_day": 0}, "issue_day"),
    ({"time_zone": ""}, "time_zone"),
])
def test_amount_and_issue_day_stay_within_the_programs_limits(service, changes, field):
    with pytest.raises(InvalidInput) as raised:
        service.upsert_program(REGION, {"name": "星空区", **changes})

    assert set(raised.value.details["fields"]) == {field}


def test_a_program_body_that_is_not_an_object_is_refused(service):
    with pytest.raises(InvalidInput):
        service.upsert_program(REGION, ["星空区"])


def test_a_region_without_program_is_not_found(service):
    with pytest.raises(NotFound) as raised:
        service.get_program(REGION)

    assert raised.value.code == "program_not_found"


def test_every_save_announces_the_programs_settings_without_its_name(service, database):
    service.upsert_program(REGION, {"name": "星空区こども食堂"})
    service.upsert_program(REGION, {
        "name": "星空区こども食堂", "amount_yen": 5000, "time_zone": "America/Los_Angeles",
        "void_window_hours": 12, "late_enrolment": "next_period",
        "restaurant_scope": "own_organisation",
    })

    first, second = [_without_event_id(event)
                     for event in database.outbox_events("program_updated")]
    assert first == {
        "region_id": REGION, "name": "星空区こども食堂", "amount_yen": 3000, "issue_day": 20,
        "time_zone": "Asia/Tokyo", "void_window_hours": 0, "late_enrolment": "grant_now",
        "restaurant_scope": "region",
    }
    assert second == {
        "region_id": REGION, "name": "星空区こども食堂", "amount_yen": 5000, "issue_day": 20,
        "time_zone": "America/Los_Angeles", "void_window_hours": 12,
        "late_enrolment": "next_period", "restaurant_scope": "own_organisation",
    }


def test_a_refused_program_announces_nothing(service, database):
    with pytest.raises(InvalidInput):
        service.upsert_program(REGION, {"name": "星空区", "void_window_hours": 73})

    assert database.outbox_events("program_updated") == []


def _without_event_id(event):
    return {name: value for name, value in event.items() if name != "event_id"}
