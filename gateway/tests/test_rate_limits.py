"""Rate limits through the running gateway, with the low limits of conftest.RATE_LIMITS."""

from types import SimpleNamespace

import pytest

from gateway.throttle import PAUSE_RULE, Throttle, client_address

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


def declined(reason):
    return {**DECLINED_UNKNOWN, "reason": reason}


def end_the_pause(services, ids):
    """As if the pause after the last failure had passed (the test does not wait for it)."""
    rate_limits = services.rate_limits
    rate_limits.limiter.clear(Throttle(rate_limits.limiter, rate_limits.rules, 0, 1).pause,
                              PAUSE_RULE, ids.restaurant)


def test_every_kind_of_failed_lookup_counts_then_pauses_then_stops_the_restaurant(
        gateway, services, token_for, ids):
    path = f"/v1/restaurants/{ids.restaurant}/redemptions"
    bill = {"bill_yen": 800, "card_number": CARD}

    def redeem_declined(reason):
        services.redemption.answer = declined(reason)
        return gateway.post(path, json=bill, token=token_for("restaurant"))

    # conftest: a pause after more than 2 failures, refused once 4 are in the window.
    answered = [redeem_declined(reason).json()["reason"] for reason in
                ("card_number_invalid", "qr_token_invalid", "qr_token_expired")]
    paused = redeem_declined("unknown_card_or_token")
    end_the_pause(services, ids)
    fourth = redeem_declined("unknown_card_or_token")
    end_the_pause(services, ids)
    stopped = redeem_declined("unknown_card_or_token")

    assert answered == ["card_number_invalid", "qr_token_invalid", "qr_token_expired"]
    assert_limited(paused, "too_many_failed_lookups")
    assert paused.json()["details"]["rule"] == "failed_lookup_pause"
    assert int(paused.headers["Retry-After"]) == 1
    assert fourth.json()["reason"] == "unknown_card_or_token"
    assert_limited(stopped, "too_many_failed_lookups")
    assert stopped.json()["details"]["rule"] == "failed_lookups"
    assert len(services.redemption.called("redeem")) == 4


def test_the_first_failed_lookups_pause_nothing_and_another_restaurant_is_not_paused(
        gateway, services, token_for, ids):
    services.redemption.answer = declined("unknown_card_or_token")
    bill = {"bill_yen": 800, "card_number": CARD}

    first = [gateway.post(f"/v1/restaurants/{ids.restaurant}/redemptions", json=bill,
                          token=token_for("restaurant")).status_code for _ in range(3)]
    other = gateway.post(f"/v1/restaurants/{ids.other_restaurant}/redemptions", json=bill,
                         token=token_for("other_restaurant"))

    assert first == [200, 200, 200]
    assert other.status_code == 200


@pytest.mark.parametrize("answer", ["applied", "nothing_left", "qr_token_already_used",
                                    "household_not_active"])
def test_bills_paid_or_declined_for_other_reasons_are_not_failed_lookups(
        gateway, services, token_for, ids, answer):
    if answer != "applied":
        services.redemption.answer = declined(answer)
    path = f"/v1/restaurants/{ids.restaurant}/redemptions"
    bill = {"bill_yen": 800, "card_number": CARD}

    answers = [gateway.post(path, json=bill, token=token_for("restaurant")) for _ in range(5)]

    assert [response.status_code for response in answers] == [200] * 5


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
