"""Finding a partner restaurant and printing the list, as the gateway passes them on."""

import base64

import pytest

from shokudo_common.errors import InvalidInput

NEARBY_ANSWER = {
    "region_id": "hoshizora-ku", "time_zone": "Asia/Tokyo",
    "local_time": "2026-12-05T23:30+09:00",
    "restaurants": [{
        "id": "cccccccc-2222-4000-8000-000000000003", "region_id": "hoshizora-ku",
        "name": "みどり食堂", "name_kana": "ミドリショクドウ", "address": "星空区青葉1-2-3",
        "area": "青葉", "latitude": 35.7, "longitude": 139.7, "phone": "03-1234-5678",
        "opening_hours": {}, "flags": ["takeout"], "open_now": True, "distance_m": 120,
        "flag_labels": [{"code": "takeout", "ja": "持ち帰りできます", "en": "Takeout"}],
        # Fields a careless gateway would pass on to the public.
        "organisation_id": "aaaaaaaa-0000-4000-8000-000000000001", "status_reason": "内部メモ",
    }],
}


@pytest.fixture
def nearby(services):
    """The directory's nearby search, recording what it was asked."""
    asked = []

    def nearby_restaurants(region_id, criteria):
        asked.append((region_id, criteria))
        if "free_beer" in criteria.get("flags", []):
            raise InvalidInput("invalid_input", "some fields are missing or wrong: flags.0",
                               {"fields": {"flags": {"0": ["Must be one of: ..."]}}})
        return NEARBY_ANSWER

    services.directory.nearby_restaurants = nearby_restaurants
    return asked


def test_anyone_can_search_nearby_and_sees_only_public_fields(gateway, nearby, ids):
    response = gateway.get(f"/v1/regions/{ids.region}/restaurants/nearby",
                           params={"lat": "35.7", "lon": "139.7", "open_now": "true",
                                   "q": "ﾐﾄﾞﾘ", "flags": "allergy_menu,children_alone_welcome",
                                   "radius_m": "1500", "limit": "5"})

    assert response.status_code == 200
    [restaurant] = response.json()["restaurants"]
    assert restaurant["distance_m"] == 120 and restaurant["open_now"] is True
    assert restaurant["flag_labels"] == [{"code": "takeout", "ja": "持ち帰りできます",
                                          "en": "Takeout"}]
    assert "organisation_id" not in restaurant and "status_reason" not in restaurant
    assert response.json()["local_time"] == "2026-12-05T23:30+09:00"
    assert nearby == [(ids.region, {
        "latitude": 35.7, "longitude": 139.7, "open_now": True, "q": "ﾐﾄﾞﾘ",
        "flags": ["allergy_menu", "children_alone_welcome"], "radius_m": 1500, "limit": 5})]


def test_bad_query_values_are_refused_with_each_field_named(gateway, nearby, ids):
    response = gateway.get(f"/v1/regions/{ids.region}/restaurants/nearby",
                           params={"lat": "north", "radius_m": "0", "open_now": "maybe",
                                   "limit": "1000", "flags": "Allergy Menu"})

    assert response.status_code == 422
    fields = response.json()["details"]["fields"]
    assert set(fields) == {"lat", "lon", "radius_m", "open_now", "limit", "flags"}
    assert nearby == []


def test_an_unknown_flag_is_refused_by_the_directory_as_a_422(gateway, nearby, ids):
    response = gateway.get(f"/v1/regions/{ids.region}/restaurants/nearby",
                           params={"lat": "35.7", "lon": "139.7", "flags": "free_beer"})

    assert response.status_code == 422
    assert "flags" in response.json()["details"]["fields"]


@pytest.fixture
def printable(services):
    """The directory's lists, recording which region each was asked for."""
    asked = []

    def csv_list(region_id):
        asked.append(region_id)
        return "\ufeff地域 / Area\r\n青葉\r\n"

    def pdf_list(region_id):
        asked.append(region_id)
        return base64.b64encode(b"%PDF-1.4 list").decode("ascii")

    services.directory.printable_list_csv = csv_list
    services.directory.printable_list_pdf = pdf_list
    return asked


@pytest.mark.parametrize("path, caller", [
    ("/v1/regions/hoshizora-ku/restaurants/list", "operator"),
    ("/v1/organisations/aaaaaaaa-0000-4000-8000-000000000001/restaurants/list", "operator"),
    ("/v1/organisations/aaaaaaaa-0000-4000-8000-000000000001/restaurants/list",
     "organisation_a"),
])
def test_staff_download_their_regions_printable_lists_as_files(gateway, printable, token_for,
                                                               path, caller):
    csv_file = gateway.get(f"{path}.csv", token=token_for(caller))
    pdf_file = gateway.get(f"{path}.pdf", token=token_for(caller))

    assert csv_file.status_code == 200
    assert csv_file.headers["Content-Type"].startswith("text/csv")
    assert csv_file.content.startswith("\ufeff".encode("utf-8"))
    assert csv_file.content.decode("utf-8-sig").startswith("地域")
    assert pdf_file.status_code == 200
    assert pdf_file.headers["Content-Type"] == "application/pdf"
    assert pdf_file.content == b"%PDF-1.4 list"
    assert "restaurants-hoshizora-ku.pdf" in pdf_file.headers["Content-Disposition"]
    assert printable == ["hoshizora-ku", "hoshizora-ku"]


def test_an_organisation_cannot_print_through_another_organisation(gateway, printable,
                                                                   token_for, ids):
    response = gateway.get(f"/v1/organisations/{ids.organisation_b}/restaurants/list.pdf",
                           token=token_for("organisation_a"))

    assert response.status_code == 404
    assert printable == []


@pytest.mark.parametrize("caller, status", [
    (None, 401), ("restaurant", 403), ("household", 403), ("organisation_a", 403)])
def test_a_regions_list_is_for_the_operator(gateway, printable, token_for, ids, caller,
                                            status):
    response = gateway.get(f"/v1/regions/{ids.region}/restaurants/list.csv",
                           token=token_for(caller))

    assert response.status_code == status
    assert printable == []
