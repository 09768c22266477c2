"""Ending a session ends its access at once, on the real stack: the old access token is refused
at its very next request, each way with its own code, not when it would have expired.

    signed out                      session_signed_out
    python -m gateway.staff disable account_disabled
    ... set-password                password_changed
    a household's new code          app_signed_out
"""

import os
import subprocess
import sys

import pytest

from gateway.staff import create_account_at

from regions import open_region
from support import STAFF_PASSWORD

REGION = "sessions-ku"


def staff_cli(stack, *argv, password=None):
    """``python -m gateway.staff`` as the operator runs it, on the stack's gateway database."""
    env = dict(os.environ, DB_URI=stack.database_uri("gateway"))
    if password:
        env["SHOKUDO_STAFF_PASSWORD"] = password
    done = subprocess.run([sys.executable, "-m", "gateway.staff", *argv], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def operator_account(stack, gateway, request):
    """A fresh operator account of this test's own, signed in: (login, its client)."""
    login = f"sessions-{request.node.name[:40]}"
    create_account_at(stack.database_uri("gateway"), login, STAFF_PASSWORD, "operator")
    return login, gateway.sign_in(login, STAFF_PASSWORD)


def refused(client, path):
    response = client.request("GET", path, expect=None)
    assert response.status_code == 401, response.text
    return response.json()["code"]


def test_after_signing_out_the_access_token_is_refused(gateway, operator_account):
    _, operator = operator_account
    assert operator.get(f"/v1/regions/{REGION}/roster-count")["count"] == 0

    gateway.post("/v1/auth/sign-out", {"refresh_token": operator.refresh_token})

    assert refused(operator, f"/v1/regions/{REGION}/roster-count") == "session_signed_out"


def test_after_the_cli_disables_the_account_its_access_token_is_refused(
        stack, operator_account):
    login, operator = operator_account
    assert operator.get(f"/v1/regions/{REGION}/roster-count")["count"] == 0

    staff_cli(stack, "disable", "--login", login)

    assert refused(operator, f"/v1/regions/{REGION}/roster-count") == "account_disabled"


def test_after_the_cli_sets_a_new_password_the_old_access_token_is_refused(
        stack, gateway, operator_account):
    login, operator = operator_account

    staff_cli(stack, "set-password", "--login", login, password="a new password for the test")

    assert refused(operator, f"/v1/regions/{REGION}/roster-count") == "password_changed"
    again = gateway.sign_in(login, "a new password for the test")
    assert again.get(f"/v1/regions/{REGION}/roster-count")["count"] == 0


def test_after_a_new_activation_code_the_old_app_is_refused(stack, gateway, operator):
    region = open_region(stack, gateway, operator, REGION, restaurants=0)
    [household] = region.enrol(1, channel="app")
    app = region.family(household)
    assert app.get("/v1/app/me/ticket")["household_id"] == household["id"]

    region.staff.post(f"/v1/organisations/{region.organisation['id']}/households/"
                      f"{household['id']}/activation-code")

    assert refused(app, "/v1/app/me/ticket") == "app_signed_out"
