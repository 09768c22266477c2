"""Rate limits through the running gateway, with the low limits of conftest.RATE_LIMITS."""

import time
from types import SimpleNamespace

from gateway.throttle import client_address

CARD = "4539 5787 6362 1486"
DECLINED_UNKNOWN = {"outcome": "declined", "reason": "unknown_card_or_token",
                    "message_ja": "このカードまたはQRコードは使えません。",
                    "message_en": "This card or QR code cannot be used."}


def sign_in(gateway, login, password="wrong password, long enough"):
    return gateway.post("/v1/auth/sign-in", json={"login": login, "password": password})


def assert_limited(response, code="rate_limited"):
    assert response.status_code == 429
    assert response.json()["code"] == code
    assert 1 <= int(response.headers["Retry-After"]) <= 600
    assert response.json()["details"]["retry_after_seconds"] == \
        int(response.headers["Retry-After"])


def test_guessing_one_logins_password_is_stopped(gateway, accounts, ids):
    accounts.create("operator", "operator")

    answers = [sign_in(gateway, "operator").status_code for _ in range(4)]
    blocked = sign_in(gateway, "OPERATOR", ids.password)

    assert answers == [401] * 4
    assert_limited(blocked)
    assert blocked.json()["details"]["rule"] == "sign_in_per_login"
    assert "access_token" not in blocked.text


def test_one_address_trying_many_logins_is_stopped(gateway):
    answers = [sign_in(gateway, f"login-{number}").status_code for number in range(8)]
    blocked = sign_in(gateway, "login-9")

    assert answers == [401] * 8
    assert_limited(blocked)
    assert blocked.json()["details"]["rule"] == "sign_in_per_address"


def test_guessing_activation_codes_is_stopped(gateway, services):
    answers = [gateway.post("/v1/app/activate", json={"activation_code": f"GUES-S{n:03}"})
               for n in range(4)]
    blocked = gateway.post("/v1/app/activate", json={"activation_code": "GUES-S999"})

    assert [answer.status_code for answer in answers] == [404] * 4
    assert_limited(blocked)
    assert len(services.enrollment.called("activate_app")) == 4


def test_a_restaurant_redeeming_too_fast_is_stopped_and_others_are_not(
        gateway, services, token_for, ids):
    path = f"/v1/restaurants/{ids.restaurant}/redemptions"
    bill = {"bill_yen": 800, "card_number": CARD}

    answers = [gateway.post(path, json=bill, token=token_for("restaurant")).status_code
               for _ in range(6)]
    blocked = gateway.post(path, json=bill, token=token_for("restaurant"))
    other = gateway.post(f"/v1/restaurants/{ids.other_restaurant}/redemptions", json=bill,
                         token=token_for("other_restaurant"))

    assert answers == [200] * 6
    assert_limited(blocked)
    assert other.status_code == 200
    assert len(services.redemption.called("redeem")) == 7


def test_unknown_cards_are_first_slowed_then_refused(gateway, services, token_for, ids):
    services.redemption.answer = DECLINED_UNKNOWN
    path = f"/v1/restaurants/{ids.restaurant}/redemptions"
    bill = {"bill_yen": 800, "card_number": CARD}

    durations = []
    for _ in range(4):
        started = time.monotonic()
        answer = gateway.post(path, json=bill, token=token_for("restaurant"))
        durations.append(time.monotonic() - started)
        assert answer.json()["reason"] == "unknown_card_or_token"
    refused = gateway.post(path, json=bill, token=token_for("restaurant"))

    # The first two answer at once; the third and fourth wait (conftest: 0.5 s).
    assert max(durations[:2]) < 0.4 and min(durations[2:]) >= 0.5
    assert_limited(refused, "too_many_failed_lookups")
    assert len(services.redemption.called("redeem")) == 4


def test_applied_redemptions_are_not_failed_lookups(gateway, services, token_for, ids):
    path = f"/v1/restaurants/{ids.restaurant}/redemptions"
    bill = {"bill_yen": 800, "card_number": CARD}

    answers = [gateway.post(path, json=bill, token=token_for("restaurant")) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [200] * 5
    assert all(answer.elapsed.total_seconds() < 0.4 for answer in answers)


def test_a_forwarded_for_header_is_ignored_unless_proxies_are_trusted(gateway):
    answers = [gateway.post("/v1/auth/sign-in", headers={"X-Forwarded-For": f"10.0.0.{n}"},
                            json={"login": f"login-{n}", "password": "wrong password!"})
               for n in range(9)]

    # Each request claims another address; the limit counts the one the socket saw.
    assert [answer.status_code for answer in answers] == [401] * 8 + [429]


def test_behind_trusted_proxies_the_client_is_the_address_the_outermost_proxy_saw():
    request = SimpleNamespace(remote_addr="10.1.0.7",
                              headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.1.0.2"})

    assert client_address(request, proxy_hops=0) == "10.1.0.7"
    assert client_address(request, proxy_hops=1) == "10.1.0.2"
    assert client_address(request, proxy_hops=2) == "203.0.113.9"
    assert client_address(SimpleNamespace(remote_addr="10.1.0.7", headers={}), 1) == "10.1.0.7"
