"""One correlation id, from the request at the gateway to every process the request set going.

A restaurant sends a bill with its own ``X-Correlation-Id``. The same id must show in the JSON
log lines of the gateway (the request answered), redemption (the ticket redeemed), notification
(the fact applied, and later the receipt sent by its timer) and enrollment (the contacts
notification asked for), so an operator can follow a family's bill through every log. And
every line each of those processes wrote is one JSON object, so that nothing slips past a log
collector unparsed.
"""

import json
import uuid

from regions import open_region
from support import body_text, messages_to, wait_until

REGION = "trace-cho"
ADDRESS = "trace@example.jp"
TRACED = ("gateway", "redemption", "notification", "enrollment")


def log_lines(stack, name):
    """Every line the first replica of ``name`` has written, each decoded from JSON."""
    text = (stack.var_dir / "logs" / f"{name}-0.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def lines_with(stack, name, correlation_id):
    return [line for line in log_lines(stack, name)
            if line.get("correlation_id") == correlation_id]


def traced_lines(stack, correlation_id):
    """Per traced process its lines with ``correlation_id``, once every one has some."""
    found = {name: lines_with(stack, name, correlation_id) for name in TRACED}
    return found if all(found.values()) else None


def messages(lines):
    return {line["message"] for line in lines}


def test_a_bill_s_correlation_id_is_in_every_log_it_reaches(stack, gateway, operator):
    region = open_region(stack, gateway, operator, REGION)
    [household] = region.enrol(1, channel="app", email=ADDRESS)
    region.issue_tickets()
    restaurant = region.restaurants[0]
    token = region.family(household).post("/v1/app/me/qr")["token"]
    correlation_id = f"bill-{uuid.uuid4().hex}"

    answer = region.counter(restaurant).request(
        "POST", f"/v1/restaurants/{restaurant['id']}/redemptions",
        json={"bill_yen": 700, "qr_token": token},
        headers={"X-Correlation-Id": correlation_id},
    )

    assert answer.json()["outcome"] == "applied"
    assert answer.headers["X-Correlation-Id"] == correlation_id
    # The receipt goes out on notification's delivery timer, a moment after the fact.
    wait_until(lambda: [m for m in messages_to(stack.mail_dir, ADDRESS)
                        if "Thank you for using your meal ticket" in body_text(m)],
               what="the receipt sent")
    traced = wait_until(lambda: traced_lines(stack, correlation_id), interval=0.5,
                        what="every process logging the bill's correlation id")

    assert {"request answered"} <= messages(traced["gateway"])
    assert {"ticket redeemed"} <= messages(traced["redemption"])
    assert {"notifications queued", "notification sent"} <= messages(traced["notification"])
    assert {"contacts given"} <= messages(traced["enrollment"])
    [answered] = [line for line in traced["gateway"] if line["message"] == "request answered"]
    assert (answered["route"], answered["status"]) == (
        "/v1/restaurants/<restaurant_id>/redemptions", 200)

    # Every line, the start-up's and nameko's own included, not only those of this bill.
    for name in TRACED:
        assert all(isinstance(line, dict) for line in log_lines(stack, name)), name
