"""The printed list: a real PDF and an Excel-ready CSV, grouped by area."""

import base64
import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from nameko.testing.services import worker_factory
from pypdf import PdfReader

from shokudo_common.clock import FixedClock
from shokudo_common.testing import outbox_writer

from directory.service import DirectoryService

REGION = "hoshizora-ku"
ORGANISATION = "7d2f1a9e-3b4c-4d5e-8f60-718293a4b5c6"


@pytest.fixture
def service(session):
    clock = FixedClock(datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    return worker_factory(DirectoryService, db=session, outbox=outbox_writer(), clock=clock)


@pytest.fixture
def restaurants(service):
    listed = [
        ("みどり食堂", "ミドリショクドウ", "青葉", ["children_alone_welcome", "allergy_menu"]),
        ("うみ亭", "ウミテイ", "港", []),
        ("あさひ軒", "アサヒケン", "青葉", ["takeout"]),
        ("ほし屋", "ホシヤ", "", []),
    ]
    for name, kana, area, flags in listed:
        restaurant = service.nominate_restaurant({
            "region_id": REGION, "organisation_id": ORGANISATION, "name": name,
            "name_kana": kana, "address": f"星空区{area or '北'}1-2-3",
            "latitude": 35.7, "longitude": 139.7, "phone": "03-1234-5678", "flags": flags,
            "opening_hours": {"sat": [{"opens": "17:00", "closes": "01:00"}]},
            **({"area": area} if area else {}),
        })
        service.approve_restaurant(restaurant["id"])
    service.nominate_restaurant({
        "region_id": REGION, "organisation_id": ORGANISATION, "name": "承認待ちの店",
        "name_kana": "ショウニンマチ", "address": "星空区1", "latitude": 35.7,
        "longitude": 139.7, "phone": "03-1234-5678", "opening_hours": {}})


def test_the_csv_opens_in_excel_and_groups_restaurants_by_area(service, restaurants):
    text = service.printable_list_csv(REGION)

    assert text.startswith("\ufeff")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [(row["地域 / Area"], row["店名 / Name"]) for row in rows] == [
        ("港", "うみ亭"), ("青葉", "あさひ軒"), ("青葉", "みどり食堂"), ("その他 / Other", "ほし屋"),
    ]
    midori = rows[2]
    assert midori["営業時間 / Hours"] == "月〜金 定休日 / 土 17:00〜翌1:00 / 日 定休日"
    assert midori["特徴 / Features"] == "子どもだけでも歓迎・アレルギー対応メニューあり"
    assert midori["電話 / Phone"] == "03-1234-5678"


def test_the_pdf_is_a4_and_names_every_active_restaurant(service, restaurants):
    document = base64.b64decode(service.printable_list_pdf(REGION))

    reader = PdfReader(io.BytesIO(document))
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    content = "".join(page.extract_text() for page in reader.pages)
    for name in ("みどり食堂", "うみ亭", "あさひ軒", "ほし屋", "青葉", "港", "翌1:00"):
        assert name in content
    assert "承認待ちの店" not in content
    assert "2026-12-05" in content


def test_the_pdf_is_titled_with_the_programs_name_not_the_regions_id(service, restaurants):
    def title():
        document = base64.b64decode(service.printable_list_pdf(REGION))
        return PdfReader(io.BytesIO(document)).pages[0].extract_text().splitlines()[0]

    before = title()
    service.on_program_updated({"event_id": "p-1", "region_id": REGION, "name": "星空区こども食堂",
                                "time_zone": "Asia/Tokyo", "amount_yen": 3000})
    named = title()
    # A later fact without the name (an older issuance) keeps the name heard before.
    service.on_program_updated({"event_id": "p-2", "region_id": REGION,
                                "time_zone": "Asia/Tokyo", "amount_yen": 3000})

    assert REGION in before
    assert "星空区こども食堂" in named and REGION not in named
    assert title() == named


def test_a_region_without_restaurants_still_prints_a_page_that_says_so(service):
    document = base64.b64decode(service.printable_list_pdf("empty-ku"))

    assert "提携飲食店はまだありません" in PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert service.printable_list_csv("empty-ku").count("\r\n") == 1
