"""An organisation's spreadsheet export, card sheets, app letters and cards through the gateway:
its own organisation only, files served as files, who asked taken from the token."""

import base64
import codecs

import pytest

from request_keys import GENERATED_KEY

PDF = b"%PDF-1.4 a printed page"
CSV = "\ufeff管理番号,保護者氏名\r\nA-001,山田 花子\r\n"
CALLERS = ("operator", "organisation_a", "organisation_b", "restaurant", "household", None)


@pytest.fixture
def enrollment(services, ids):
    """The fake enrollment, taught the calls of this module; each call is recorded."""
    fake = services.enrollment

    def answering(method, answer):
        def call(*args, accessor=None, **kwargs):
            fake.accessed(method, accessor)
            fake.record(method, *args, **kwargs)
            fake.get_organisation(args[0])
            return answer
        setattr(fake, method, call)

    household = fake.households[ids.household_a]
    answering("export_households", CSV)
    answering("card_sheet", {"cards": 1, "pdf_base64": base64.b64encode(PDF).decode()})
    answering("app_letter", {"household_id": ids.household_a,
                             "pdf_base64": base64.b64encode(PDF).decode()})
    answering("issue_card", {**household, "card_number": "4929111111111116"})
    answering("block_card", {**household, "card_number": None, "in_force_at_counter": True,
                             "blocked_card_number": "4929111111111116", "block_reason": "lost"})
    return fake


def paths(ids):
    organisation = f"/v1/organisations/{ids.organisation_a}"
    household = f"{organisation}/households/{ids.household_a}"
    return {
        "export": ("GET", f"{organisation}/households.csv"),
        "cards": ("GET", f"{organisation}/cards.pdf"),
        "letter": ("POST", f"{household}/app-letter"),
        "issue": ("POST", f"{household}/card"),
        "block": ("POST", f"{household}/card/block"),
    }


@pytest.mark.parametrize("route", ["export", "cards", "letter", "issue", "block"])
def test_only_the_operator_and_the_organisation_itself_reach_them(
        gateway, enrollment, token_for, ids, route):
    method, path = paths(ids)[route]

    answered = [gateway.request(method, path, token=token_for(caller),
                                json={"reason": "lost"}).status_code
                for caller in CALLERS]

    assert answered == [201 if route == "issue" else 200] * 2 + [404, 403, 403, 401]


def test_the_export_is_a_csv_file_excel_reads_as_utf8(gateway, enrollment, token_for, ids):
    response = gateway.get(paths(ids)["export"][1] + "?status=active",
                           token=token_for("organisation_a"))

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="households.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content.startswith(codecs.BOM_UTF8)
    assert response.content.decode("utf-8-sig") == CSV.removeprefix("\ufeff")
    assert enrollment.called("export_households") == [
        ("export_households", (ids.organisation_a,), {"status": "active"})]


def test_a_card_sheet_is_a_pdf_of_one_household_or_all(gateway, enrollment, token_for, ids):
    path = paths(ids)["cards"][1]
    token = token_for("organisation_a")

    every = gateway.get(path, token=token)
    one = gateway.get(f"{path}?household_id={ids.household_a}", token=token)

    assert every.headers["Content-Type"] == "application/pdf"
    assert every.content == one.content == PDF
    assert [args for _, args, _ in enrollment.called("card_sheet")] == [
        (ids.organisation_a, None), (ids.organisation_a, ids.household_a)]


def test_a_card_sheet_for_a_malformed_household_id_is_refused_before_enrollment(
        gateway, enrollment, token_for, ids):
    response = gateway.get(paths(ids)["cards"][1] + "?household_id=A-001",
                           token=token_for("organisation_a"))

    assert response.status_code == 422
    assert enrollment.called("card_sheet") == []


def test_an_app_letter_is_a_pdf_and_is_only_ever_posted(gateway, enrollment, token_for, ids):
    path = paths(ids)["letter"][1]

    posted = gateway.post(path, token=token_for("organisation_a"))
    fetched = gateway.get(path, token=token_for("organisation_a"))

    assert posted.headers["Content-Type"] == "application/pdf"
    assert posted.headers["Cache-Control"] == "no-store"
    assert posted.content == PDF
    assert fetched.status_code == 405
    assert len(enrollment.called("app_letter")) == 1


def test_a_card_block_names_who_asked_from_the_token_and_is_keyed(
        gateway, enrollment, token_for, ids):
    response = gateway.post(paths(ids)["block"][1], token=token_for("organisation_a"),
                            json={"reason": "stolen"})

    assert response.json()["in_force_at_counter"] is True
    assert enrollment.called("block_card") == [(
        "block_card",
        (ids.organisation_a, ids.household_a, "stolen",
         f"organisation:{ids.organisation_a}:{ids.account['organisation_a']}"),
        {"idempotency_key": GENERATED_KEY},
    )]


def test_who_blocked_a_card_cannot_be_said_in_the_body(gateway, enrollment, token_for, ids):
    response = gateway.post(paths(ids)["block"][1], token=token_for("organisation_a"),
                            json={"reason": "stolen", "blocked_by": "someone else"})

    assert response.status_code == 422
    assert "blocked_by" in response.json()["details"]["fields"]
    assert enrollment.called("block_card") == []


def test_a_card_block_without_a_reason_is_refused_before_enrollment(
        gateway, enrollment, token_for, ids):
    response = gateway.post(paths(ids)["block"][1], token=token_for("organisation_a"), json={})

    assert response.status_code == 422
    assert "reason" in response.json()["details"]["fields"]
    assert enrollment.called("block_card") == []


def test_a_card_issue_is_keyed_by_the_caller(gateway, enrollment, token_for, ids):
    response = gateway.post(paths(ids)["issue"][1], token=token_for("organisation_a"),
                            headers={"Idempotency-Key": "first-card-A-001"})

    assert response.status_code == 201
    [(_, _, options)] = enrollment.called("issue_card")
    assert options == {"idempotency_key": f"organisation:{ids.organisation_a}:first-card-A-001"}


@pytest.mark.parametrize("route, called, purpose", [
    ("export", "export_households", "spreadsheet_export"),
    ("cards", "card_sheet", "card_printing"),
    ("letter", "app_letter", "app_letter"),
    ("issue", "issue_card", "card_issue"),
    ("block", "block_card", "card_block"),
])
def test_each_paper_and_card_route_names_who_and_why_for_the_access_trail(
        gateway, enrollment, token_for, ids, route, called, purpose):
    method, path = paths(ids)[route]

    gateway.request(method, path, token=token_for("operator"), json={"reason": "lost"},
                    headers={"X-Access-Reason": "card-lost-at-school"})

    assert enrollment.accessors == [(called, {"actor": f"operator:{ids.account['operator']}",
                                              "purpose": purpose,
                                              "reason": "card-lost-at-school"})]
