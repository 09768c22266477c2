"""Signing in, renewing and ending sessions, through the running gateway and its database."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from gateway import auth


def sign_in(gateway, login, password):
    return gateway.post("/v1/auth/sign-in", json={"login": login, "password": password})


def refresh(gateway, refresh_token):
    return gateway.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


def program(gateway, ids, token):
    return gateway.get(f"/v1/regions/{ids.region}/program", token=token)


def test_an_operator_signs_in_and_reaches_the_operators_routes(gateway, accounts, ids):
    accounts.create("operator@shokudo.example", "operator")

    signed_in = sign_in(gateway, "operator@shokudo.example", ids.password)

    assert signed_in.status_code == 200
    assert signed_in.json()["role"] == "operator"
    assert signed_in.json()["region_ids"] == []
    assert signed_in.json()["refresh_token"]
    assert program(gateway, ids, signed_in.json()["access_token"]).status_code == 200


def test_a_staff_token_names_the_account_signed_in(gateway, accounts, ids):
    account_id = accounts.create("operator@shokudo.example", "operator")

    token = sign_in(gateway, "operator@shokudo.example", ids.password).json()["access_token"]

    assert auth.read_token(f"Bearer {token}", ids.secret).staff_id == account_id


def test_a_wrong_password_and_an_unknown_login_are_refused_alike(gateway, accounts, ids):
    accounts.create("operator", "operator")

    wrong = sign_in(gateway, "operator", ids.password + "!")
    unknown = sign_in(gateway, "nobody", ids.password)

    assert wrong.status_code == unknown.status_code == 401
    # The same problem but for each request's own correlation id.
    assert {**wrong.json(), "correlation_id": None} == {**unknown.json(), "correlation_id": None}
    assert wrong.json()["code"] == "invalid_credentials"
    assert "access_token" not in wrong.text + unknown.text


def test_a_disabled_account_cannot_sign_in_nor_refresh(gateway, accounts, ids):
    accounts.create("aoba", "organisation", organisation_id=ids.organisation_a)
    before = sign_in(gateway, "aoba", ids.password).json()

    accounts.disable("aoba")

    refused = sign_in(gateway, "aoba", ids.password)
    assert refused.status_code == 401
    assert refused.json()["code"] == "account_disabled"
    renewed = refresh(gateway, before["refresh_token"])
    assert renewed.status_code == 401
    assert renewed.json()["code"] == "invalid_refresh_token"


def test_a_refresh_rotates_both_tokens_and_uses_up_the_old_one(gateway, accounts, ids):
    accounts.create("operator", "operator")
    first = sign_in(gateway, "operator", ids.password).json()

    second = refresh(gateway, first["refresh_token"])

    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert program(gateway, ids, second.json()["access_token"]).status_code == 200
    third = refresh(gateway, second.json()["refresh_token"])
    assert third.status_code == 200


def test_a_reused_refresh_token_ends_the_whole_session(gateway, accounts, ids):
    accounts.create("operator", "operator")
    first = sign_in(gateway, "operator", ids.password).json()
    second = refresh(gateway, first["refresh_token"]).json()

    # Someone replays the first token: the session is revoked for both holders.
    replayed = refresh(gateway, first["refresh_token"])

    assert replayed.status_code == 401
    assert replayed.json()["code"] == "refresh_token_reused"
    owner = refresh(gateway, second["refresh_token"])
    assert owner.status_code == 401
    assert owner.json()["code"] == "invalid_refresh_token"


def test_a_forged_refresh_token_is_refused(gateway):
    response = refresh(gateway, "not-a-token-anyone-was-given")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


def test_signing_out_ends_the_session(gateway, accounts, ids):
    accounts.create("operator", "operator")
    signed_in = sign_in(gateway, "operator", ids.password).json()

    signed_out = gateway.post("/v1/auth/sign-out",
                              json={"refresh_token": signed_in["refresh_token"]})

    assert signed_out.status_code == 200
    assert refresh(gateway, signed_in["refresh_token"]).status_code == 401
    again = gateway.post("/v1/auth/sign-out", json={"refresh_token": signed_in["refresh_token"]})
    assert again.status_code == 200


def test_a_staff_session_ends_after_its_working_day(gateway, gateway_database, accounts, ids):
    accounts.create("operator", "operator")
    signed_in = sign_in(gateway, "operator", ids.password).json()
    with gateway_database.engine.begin() as connection:
        connection.execute(text("UPDATE sessions SET expires_at = now() - interval '1 second'"))

    response = refresh(gateway, signed_in["refresh_token"])

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


def test_refresh_tokens_and_passwords_are_stored_only_as_hashes(
        gateway, gateway_database, accounts, ids):
    accounts.create("operator", "operator")
    signed_in = sign_in(gateway, "operator", ids.password).json()

    with gateway_database.engine.connect() as connection:
        stored = " ".join(str(row) for table in ("staff_accounts", "sessions", "refresh_tokens")
                          for row in connection.execute(text(f"SELECT * FROM {table}")))

    assert signed_in["refresh_token"] not in stored
    assert ids.password not in stored
    assert "$argon2id$" in stored


def test_an_operator_limited_to_a_region_signs_in_with_its_limit(gateway, accounts, ids):
    accounts.create("tsukimi.operator", "operator", region_ids=[ids.other_region])
    token = sign_in(gateway, "tsukimi.operator", ids.password).json()["access_token"]

    here = program(gateway, ids, token)
    organisation = gateway.get(f"/v1/organisations/{ids.organisation_a}/households",
                               token=token)

    assert here.status_code == 404
    assert here.json()["code"] == "region_not_found"
    assert organisation.status_code == 404
    assert organisation.json()["detail"] == f"no organisation {ids.organisation_a}"


def test_the_operator_sees_the_other_regions_answer_as_for_an_unknown_organisation(
        gateway, token_for, ids):
    foreign = gateway.get(f"/v1/organisations/{ids.organisation_a}/households",
                          token=token_for("operator_elsewhere"))
    unknown = gateway.get(f"/v1/organisations/{ids.unknown}/households",
                          token=token_for("operator_elsewhere"))

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["code"] == unknown.json()["code"]


# -- the family's app -------------------------------------------------------------------------

def activate(gateway, ids):
    return gateway.post("/v1/app/activate", json={"activation_code": ids.activation_code})


def test_an_activated_app_keeps_a_device_session_it_renews(gateway, ids):
    activated = activate(gateway, ids)

    assert activated.status_code == 200
    assert activated.json()["household_id"] == ids.household_a
    renewed = refresh(gateway, activated.json()["refresh_token"])
    assert renewed.status_code == 200
    assert renewed.json()["household_id"] == ids.household_a
    assert renewed.json()["organisation_id"] == ids.organisation_a
    ticket = gateway.get("/v1/app/me/ticket", token=renewed.json()["access_token"])
    assert ticket.status_code == 200


def test_a_device_session_lasts_180_days_from_its_last_use(gateway, ids):
    activated = activate(gateway, ids).json()

    expires = datetime.fromisoformat(activated["refresh_expires_at"])
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=180)) < timedelta(minutes=1)


def test_a_new_activation_code_signs_out_the_households_apps(gateway, services, token_for, ids):
    first_app = activate(gateway, ids).json()
    second_app = activate(gateway, ids).json()
    path = (f"/v1/organisations/{ids.organisation_a}/households/{ids.household_a}"
            "/activation-code")

    issued = gateway.post(path, token=token_for("organisation_a"))

    assert issued.status_code == 200
    assert issued.json() == {"household_id": ids.household_a, "activation_code": "NEW2-CODE-4567",
                             "activation_code_expires_at": "2026-06-01T00:00:00+00:00",
                             "apps_signed_out": 2}
    for app in (first_app, second_app):
        assert refresh(gateway, app["refresh_token"]).status_code == 401


def test_an_app_letter_carries_a_new_code_and_so_signs_out_the_households_apps(
        gateway, services, token_for, ids):
    app = activate(gateway, ids).json()
    path = f"/v1/organisations/{ids.organisation_a}/households/{ids.household_a}/app-letter"

    letter = gateway.post(path, token=token_for("organisation_a"))

    assert letter.status_code == 200
    assert refresh(gateway, app["refresh_token"]).status_code == 401


def test_another_organisation_cannot_sign_out_a_households_apps(gateway, services, token_for,
                                                                 ids):
    app = activate(gateway, ids).json()

    for organisation_id in (ids.organisation_a, ids.organisation_b):
        path = (f"/v1/organisations/{organisation_id}/households/{ids.household_a}"
                "/activation-code")
        response = gateway.post(path, token=token_for("organisation_b"))
        assert response.status_code == 404

    assert refresh(gateway, app["refresh_token"]).status_code == 200


# -- an ended session ends its access tokens at once ------------------------------------------

def refused_with(response):
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return response.json()["code"]


def test_signing_out_refuses_the_sessions_access_token_at_once(gateway, accounts, ids):
    accounts.create("operator", "operator")
    signed_in = sign_in(gateway, "operator", ids.password).json()
    assert program(gateway, ids, signed_in["access_token"]).status_code == 200

    gateway.post("/v1/auth/sign-out", json={"refresh_token": signed_in["refresh_token"]})

    assert refused_with(program(gateway, ids, signed_in["access_token"])) == \
        "session_signed_out"


def test_disabling_an_account_refuses_its_access_tokens_at_once(gateway, accounts, ids):
    accounts.create("operator", "operator")
    token = sign_in(gateway, "operator", ids.password).json()["access_token"]
    assert program(gateway, ids, token).status_code == 200

    accounts.disable("operator")

    assert refused_with(program(gateway, ids, token)) == "account_disabled"


def test_a_new_password_refuses_the_accounts_access_tokens_at_once(gateway, accounts, ids):
    accounts.create("operator", "operator")
    before = sign_in(gateway, "operator", ids.password).json()

    accounts.set_password("operator", "a brand new long password")

    assert refused_with(program(gateway, ids, before["access_token"])) == "password_changed"
    assert refresh(gateway, before["refresh_token"]).json()["code"] == "invalid_refresh_token"
    after = sign_in(gateway, "operator", "a brand new long password").json()
    assert program(gateway, ids, after["access_token"]).status_code == 200


def test_a_new_activation_code_refuses_the_old_apps_access_token_at_once(
        gateway, token_for, ids):
    app = activate(gateway, ids).json()
    assert gateway.get("/v1/app/me/ticket", token=app["access_token"]).status_code == 200
    path = (f"/v1/organisations/{ids.organisation_a}/households/{ids.household_a}"
            "/activation-code")

    gateway.post(path, token=token_for("organisation_a"))

    assert refused_with(gateway.get("/v1/app/me/ticket", token=app["access_token"])) == \
        "app_signed_out"


def test_a_reused_refresh_token_refuses_the_sessions_access_tokens(gateway, accounts, ids):
    accounts.create("operator", "operator")
    first = sign_in(gateway, "operator", ids.password).json()
    second = refresh(gateway, first["refresh_token"]).json()

    refresh(gateway, first["refresh_token"])

    for token in (first["access_token"], second["access_token"]):
        assert refused_with(program(gateway, ids, token)) == "session_revoked"


def test_a_session_past_its_end_refuses_its_access_token(gateway, gateway_database, accounts,
                                                          ids):
    accounts.create("operator", "operator")
    token = sign_in(gateway, "operator", ids.password).json()["access_token"]
    with gateway_database.engine.begin() as connection:
        connection.execute(text("UPDATE sessions SET expires_at = now() - interval '1 second'"))

    assert refused_with(program(gateway, ids, token)) == "session_expired"


def test_a_token_naming_a_session_that_is_not_its_own_is_refused(gateway, accounts, ids):
    """A token signed with the secret but naming another account's session, or none we know."""
    accounts.create("operator", "operator")
    own = auth.read_token(
        "Bearer " + sign_in(gateway, "operator", ids.password).json()["access_token"],
        ids.secret)
    strangers = [
        auth.Caller(auth.OPERATOR, staff_id="5d0c1a9e-1111-4000-8000-00000000000a",
                    session_id=own.session_id),
        auth.Caller(auth.OPERATOR, staff_id=own.staff_id,
                    session_id="5d0c1a9e-2222-4000-8000-00000000000b"),
        auth.Caller(auth.HOUSEHOLD, household_id=ids.household_a, session_id=own.session_id),
    ]

    for caller in strangers:
        token = auth.issue_token(caller, ids.secret)["access_token"]
        assert refused_with(gateway.get("/v1/app/me/ticket" if caller.household_id else
                                        f"/v1/regions/{ids.region}/program", token=token)) \
            == "invalid_token"
