"""Finding a partner restaurant and printing the list, through the gateway, every service a
process: the directory learns the region's time zone from issuance's program."""

import io

import pytest
from pypdf import PdfReader

from shokudo_common.client import ApiError

from support import wait_until

REGION = "finder-ku"
ZONE = "Pacific/Honolulu"
HERE = {"lat": 35.70, "lon": 139.70}
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def restaurant(name, kana, metres_north, opening_hours, flags=()):
    return {
        "name": name, "name_kana": kana, "address": f"ファインダー区{name}1-1", "area": "北",
        "latitude": HERE["lat"] + metres_north / 111_195.0, "longitude": HERE["lon"],
        "phone": "03-2222-3333", "opening_hours": opening_hours, "flags": list(flags),
    }


@pytest.fixture(scope="module")
def region(gateway, operator, staff):
    operator.put(f"/v1/regions/{REGION}/program", {"name": "ファインダー区", "time_zone": ZONE})
    organisation = operator.post(f"/v1/regions/{REGION}/organisations", {
        "name": "NPO法人ファインダー", "household_cap": 5, "contact_email": "f@example.org",
        "contact_phone": "03-0000-0009",
    })
    organisation_staff = staff("organisation", organisation_id=organisation["id"])
    nominations = [
        restaurant("いつでも亭", "イツデモテイ", 600,
                   {day: [{"opens": "00:00", "closes": "00:00"}] for day in EVERY_DAY},
                   flags=["children_alone_welcome"]),
        restaurant("休業食堂", "キュウギョウショクドウ", 200, {}),
    ]
    for nomination in nominations:
        nominated = organisation_staff.post(
            f"/v1/organisations/{organisation['id']}/restaurants", nomination)
        operator.post(f"/v1/restaurants/{nominated['id']}/approve")
    return {"organisation": organisation, "staff": organisation_staff}


def nearby(gateway, **query):
    return gateway.get(f"/v1/regions/{REGION}/restaurants/nearby",
                       params={**HERE, **query})


def test_nearby_is_judged_in_the_zone_the_regions_program_set(gateway, region):
    def zone_heard():
        found = nearby(gateway)
        return found if found["time_zone"] == ZONE else None

    answer = wait_until(zone_heard, what="the program's time zone reaching the directory")

    assert [(r["name"], r["open_now"]) for r in answer["restaurants"]] == [
        ("休業食堂", False), ("いつでも亭", True)]
    assert answer["local_time"].endswith("-10:00")


def test_open_now_text_and_flags_narrow_the_answer(gateway, region):
    assert [r["name"] for r in nearby(gateway, open_now="true")["restaurants"]] == ["いつでも亭"]
    assert [r["name"] for r in nearby(gateway, q="ｷｭｳｷﾞｮｳ")["restaurants"]] == ["休業食堂"]
    assert [r["name"] for r in nearby(gateway, flags="children_alone_welcome")[
        "restaurants"]] == ["いつでも亭"]
    assert nearby(gateway, radius_m=100)["restaurants"] == []


def test_a_bad_search_names_its_fields(gateway, region):
    with pytest.raises(ApiError) as refused:
        gateway.get(f"/v1/regions/{REGION}/restaurants/nearby",
                    params={"lat": "x", "flags": "no_such_flag"})

    assert refused.value.status == 422
    assert {"lat", "lon"} <= set(refused.value.body["details"]["fields"])


def test_an_organisation_prints_its_regions_list(region):
    organisation = region["organisation"]["id"]
    pdf = region["staff"].request("GET", f"/v1/organisations/{organisation}/restaurants/list.pdf")
    csv_file = region["staff"].request(
        "GET", f"/v1/organisations/{organisation}/restaurants/list.csv")

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "いつでも亭" in text and "休業食堂" in text
    assert csv_file.content.startswith("\ufeff".encode("utf-8"))
    assert "いつでも亭" in csv_file.content.decode("utf-8-sig")
