"""The demo region 星空区 is whole, believable and safe to show: checked file by file.

Counts and shares, the formats a real export has (encodings, full-width digits, column order),
that every place lies inside the ward and every contact is fictional, and that the committed
files are exactly what demo/generate_data.py makes.
"""

import base64
import codecs
import csv
import io
import json
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "demo" / "data"

KANA = re.compile(r"[\u3040-\u30ff\u30fc\s・ー0-9０-９]+")
PHONE = re.compile(r"^0\d{1,4}-?\d{1,4}-?\d{3,4}$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
POSTCODE = re.compile(r"^1\d{2}-\d{4}$")
EXTERNAL_REF = re.compile(r"^HZ-[A-Z]-\d{4}$")
RESERVED_EMAIL = re.compile(r"^[a-z0-9._-]+@([a-z0-9-]+\.)?example\.(com|net|org|jp)$")
FULL_WIDTH_DIGIT = re.compile(r"[０-９]")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FLAGS = {"children_alone_welcome", "allergy_menu", "wheelchair_access", "takeout"}
HEADERS = [
    "管理番号", "保護者氏名", "保護者氏名（フリガナ）", "電話番号", "メールアドレス",
    "郵便番号", "住所", "子どもの人数", "利用方法", "言語",
]


def load_json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def region():
    return load_json("region.json")


@pytest.fixture(scope="module")
def organisations():
    return load_json("organisations.json")


@pytest.fixture(scope="module")
def restaurants():
    return load_json("restaurants.json")


@pytest.fixture(scope="module")
def exports(organisations):
    """Each organisation's export: (organisation, header, rows as dicts), decoded as declared."""
    result = []
    for organisation in organisations:
        text = (DATA / organisation["csv"]).read_bytes().decode(organisation["encoding"])
        reader = csv.DictReader(io.StringIO(text, newline=""))
        result.append((organisation, reader.fieldnames, list(reader)))
    return result


@pytest.fixture(scope="module")
def households(exports):
    return [row for _, _, rows in exports for row in rows]


def inside(box, latitude, longitude):
    return (box["south"] < latitude < box["north"]) and (box["west"] < longitude < box["east"])


def narrow(value):
    return unicodedata.normalize("NFKC", value)


# -- the region ------------------------------------------------------------------------------

def test_region_is_hoshizora_ward_with_the_programme_settings(region):
    assert region["region_id"] == "hoshizora-ku"
    assert (region["name_ja"], region["name_en"]) == ("星空区", "Hoshizora Ward")
    assert region["program"]["amount_yen"] == 3000
    assert region["program"]["issue_day"] == 20
    assert region["program"]["time_zone"] == "Asia/Tokyo"


def test_every_area_centre_lies_inside_the_ward(region):
    box = region["bounding_box"]
    assert box["south"] < box["north"] and box["west"] < box["east"]
    assert len(region["areas"]) >= 4
    for area in region["areas"]:
        assert inside(box, area["centre"]["latitude"], area["centre"]["longitude"]), area["name"]
        assert POSTCODE.match(area["postcode"])


# -- organisations ---------------------------------------------------------------------------

def test_organisations_have_fictional_contacts_and_a_declared_export(organisations):
    assert len(organisations) >= 3
    assert len({o["key"] for o in organisations}) == len(organisations)
    for organisation in organisations:
        assert organisation["name"].startswith("NPO法人")
        assert RESERVED_EMAIL.match(organisation["contact_email"])
        assert PHONE.match(organisation["contact_phone"])
        assert organisation["contact_phone"].startswith(("0120-", "03-"))
        codecs.lookup(organisation["encoding"])
        assert (DATA / organisation["csv"]).is_file()


def test_the_three_exports_use_the_three_encodings_spreadsheets_write(organisations):
    encodings = {o["encoding"] for o in organisations}
    assert {"cp932", "utf-8-sig", "utf-8"} <= encodings
    for organisation in organisations:
        raw = (DATA / organisation["csv"]).read_bytes()
        has_bom = raw.startswith(codecs.BOM_UTF8)
        assert has_bom == (organisation["encoding"] == "utf-8-sig"), organisation["csv"]
        if organisation["encoding"] == "cp932":
            # Really Shift_JIS bytes, not UTF-8 that happens to be declared so.
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")


# -- restaurants -----------------------------------------------------------------------------

def test_at_least_fifty_restaurants_with_unique_names(restaurants):
    assert len(restaurants) >= 50
    assert len({r["name"] for r in restaurants}) == len(restaurants)
    assert len({r["key"] for r in restaurants}) == len(restaurants)


def test_restaurant_readings_phones_and_addresses_are_well_formed(region, restaurants):
    areas = {area["name"] for area in region["areas"]}
    for restaurant in restaurants:
        assert KANA.fullmatch(restaurant["name_kana"]), restaurant["name_kana"]
        assert PHONE.match(restaurant["phone"]), restaurant["phone"]
        assert restaurant["area"] in areas
        pattern = rf"星空区{restaurant['area']}\d丁目\d+-\d+"
        assert re.fullmatch(pattern, restaurant["address"]), restaurant["address"]
        assert set(restaurant["flags"]) <= FLAGS


def test_every_restaurant_lies_inside_the_ward(region, restaurants):
    box = region["bounding_box"]
    outside = [r["name"] for r in restaurants if not inside(box, r["latitude"], r["longitude"])]
    assert outside == []


def test_opening_hours_cover_closed_days_split_shifts_and_nights_past_midnight(restaurants):
    closed_day = split = past_midnight = 0
    for restaurant in restaurants:
        hours = restaurant["opening_hours"]
        assert set(hours) == set(WEEKDAYS)
        spans = [span for day in WEEKDAYS for span in hours[day]]
        assert spans, f"{restaurant['name']} is never open"
        for span in spans:
            assert CLOCK.match(span["opens"]) and CLOCK.match(span["closes"])
        closed_day += any(not hours[day] for day in WEEKDAYS)
        split += any(len(hours[day]) >= 2 for day in WEEKDAYS)
        past_midnight += any(span["closes"] < span["opens"] for span in spans)
    assert closed_day >= 10
    assert split >= 10
    assert 2 <= past_midnight <= len(restaurants) // 5


def test_each_organisation_nominates_a_share_of_at_most_twenty(organisations, restaurants):
    keys = {o["key"] for o in organisations}
    nominations = Counter(r["nominated_by"] for r in restaurants)
    assert set(nominations) == keys
    assert max(nominations.values()) <= 20


def test_restaurants_pass_the_directory_s_own_validation(restaurants):
    from shokudo_common.validation import load

    schemas = pytest.importorskip("directory.schemas")
    for restaurant in restaurants:
        details = {k: v for k, v in restaurant.items() if k not in ("key", "nominated_by")}
        load(schemas.RestaurantDetails(), details)


# -- households ------------------------------------------------------------------------------

def test_at_least_five_hundred_households_within_each_cap(exports, households):
    assert len(households) >= 500
    for organisation, _, rows in exports:
        assert 0 < len(rows) <= organisation["household_cap"], organisation["key"]
        prefix = organisation["external_ref_prefix"]
        assert all(row["管理番号"].startswith(prefix + "-") for row in rows)


def test_exports_carry_the_japanese_headers_one_in_another_order(exports):
    orders = [header for _, header, _ in exports]
    assert all(sorted(header) == sorted(HEADERS) for header in orders)
    assert HEADERS in orders
    assert any(header != HEADERS for header in orders)


def test_external_refs_are_unique_and_shaped_like_hz_a_0001(households):
    refs = [row["管理番号"] for row in households]
    assert all(EXTERNAL_REF.match(ref) for ref in refs)
    assert len(set(refs)) == len(refs)


def test_about_three_in_four_use_the_app_and_one_in_twenty_english(households):
    channels = Counter(row["利用方法"] for row in households)
    languages = Counter(row["言語"] for row in households)
    assert set(channels) == {"アプリ", "カード"}
    assert set(languages) == {"日本語", "英語"}
    assert 0.70 <= channels["アプリ"] / len(households) <= 0.80
    assert 0.03 <= languages["英語"] / len(households) <= 0.08


def test_app_households_have_an_email_and_some_card_households_only_a_phone(households):
    app = [row for row in households if row["利用方法"] == "アプリ"]
    card = [row for row in households if row["利用方法"] == "カード"]
    assert all(row["メールアドレス"] for row in app)
    phone_only = [row for row in card if not row["メールアドレス"]]
    assert phone_only and all(row["電話番号"] for row in phone_only)


def test_contacts_are_fictional_and_well_formed_once_narrowed(households):
    emails = [row["メールアドレス"] for row in households if row["メールアドレス"]]
    assert all(RESERVED_EMAIL.match(email) for email in emails)
    assert len(set(emails)) == len(emails)
    for row in households:
        assert row["電話番号"] or row["メールアドレス"]
        if row["電話番号"]:
            phone = narrow(row["電話番号"])
            assert PHONE.match(phone), row["電話番号"]
            assert phone.replace("-", "").startswith("031"), "exchanges 1xxx have no subscriber"
        assert POSTCODE.match(narrow(row["郵便番号"])), row["郵便番号"]


def test_the_shift_jis_export_has_full_width_digits_as_typed_in_excel(exports):
    rows = next(rows for organisation, _, rows in exports if organisation["encoding"] == "cp932")
    assert any(FULL_WIDTH_DIGIT.search(row["電話番号"]) for row in rows)
    assert any(FULL_WIDTH_DIGIT.search(row["郵便番号"]) for row in rows)


def test_guardian_readings_are_kana_and_addresses_lie_in_the_ward(region, households):
    areas = tuple(f"星空区{area['name']}" for area in region["areas"])
    for row in households:
        assert row["保護者氏名"].strip()
        assert KANA.fullmatch(row["保護者氏名（フリガナ）"]), row["保護者氏名（フリガナ）"]
        assert row["住所"].startswith(areas), row["住所"]
        assert 1 <= int(row["子どもの人数"]) <= 4


def test_exports_import_cleanly_through_enrollment_s_own_reader(organisations):
    spreadsheet = pytest.importorskip("enrollment.spreadsheet")
    schemas = pytest.importorskip("enrollment.schemas")
    from shokudo_common.validation import load

    for organisation in organisations:
        encoded = base64.b64encode((DATA / organisation["csv"]).read_bytes()).decode("ascii")
        sheet = spreadsheet.read(encoded)
        assert all(not row.problems for row in sheet.rows), organisation["csv"]
        for row in sheet.rows:
            load(schemas.HouseholdIn(), row.values)


# -- reproducible ----------------------------------------------------------------------------

def test_committed_files_are_exactly_what_the_generator_makes(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "demo" / "generate_data.py"), "--out", str(tmp_path)],
        check=True, capture_output=True,
    )
    made = sorted(path.name for path in tmp_path.iterdir())
    for name in made:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
    committed = sorted(p.name for p in DATA.iterdir() if p.name != "README.md")
    assert made == committed
