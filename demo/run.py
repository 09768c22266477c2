"""``make demo``: the monthly cycle of the demo ward 星空区, end to end, on real services.

    python -m demo.run [--keep-running]

Starts the platform as local processes (shokudo_common.devstack), loads the ward through the
gateway, runs last month's issuance (its tickets are usable today), simulates a day of meals,
prints what happened, and stops everything it started unless asked to keep it running.
"""

import argparse
import signal
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from shokudo_common.client import GatewayClient
from shokudo_common.devstack import ROOT, InfrastructureMissing, PortInUse, Stack
from shokudo_common.periods import Period

from demo.accounts import DEMO_PASSWORD, DemoStaff
from demo.day import Day
from demo.loading import load_ward
from demo.summary import print_summary

ZONE = ZoneInfo("Asia/Tokyo")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m demo.run")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave the platform up after the summary, until Ctrl-C")
    args = parser.parse_args(argv)

    # Every family's app and every counter of the demo is one client address: the limits per
    # address are raised, those per login and per restaurant stay as configured.
    stack = Stack(var_dir=ROOT / "var" / "demo", extra_env={
        "GATEWAY_SIGN_IN_PER_ADDRESS": "10000/minute",
        "GATEWAY_ACTIVATION_PER_ADDRESS": "10000/minute",
        # The demo's day of meals is simulated whenever it is run, night in Tokyo included;
        # its families' messages go at once instead of waiting for 08:00.
        "QUIET_HOURS": "off",
    })
    # A SIGTERM (from a supervisor, or `kill`) stops the demo as Ctrl-C does: through the
    # finally below, so no service is left running on its own.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        step("checking RabbitMQ, PostgreSQL and the ports; then creating databases, migrating")
        stack.prepare(fresh=True)
    except (InfrastructureMissing, PortInUse) as refused:
        # Nothing was started, and nothing of a stack still running was touched.
        print(refused, file=sys.stderr)
        return 2
    try:
        step("starting every service and the gateway as separate processes")
        stack.start()
        run_cycle(stack)
        if args.keep_running:
            keep_running(stack)
    except PortInUse as taken:
        print(taken, file=sys.stderr)
        return 2
    finally:
        step("stopping everything the demo started")
        stack.stop()
    return 0


def run_cycle(stack):
    gateway = GatewayClient(stack.gateway_url)
    staff = DemoStaff(stack, gateway)
    operator = staff("operator")

    step("loading the demo ward through the gateway")
    ward = load_ward(operator, staff)
    enrolled = len(ward.households)

    step(f"waiting until issuance knows all {enrolled} households")
    wait_for(lambda: operator.get(f"/v1/regions/{ward.region_id}/roster-count")["count"]
             == enrolled)

    period, month = usable_today()
    step(f"running the issuance for {period} (tickets usable in {month})")
    run = operator.post(f"/v1/regions/{ward.region_id}/issuance-runs", {"period": str(period)})
    wait_for(lambda: summary(operator, ward, month)["redemption"]["yen_granted"]
             == run["yen_granted"])

    step("simulating a day of lunches and dinners")
    day = Day(gateway, operator, ward, staff).run()
    wait_for(lambda: every_family_told(summary(operator, ward, month)["notification"], ward, day))

    print_summary(ward, run, day, summary(operator, ward, month))


def usable_today():
    today = datetime.now(ZONE)
    month = Period(today.year, today.month)
    last_month = Period(month.year - 1, 12) if month.month == 1 else Period(month.year,
                                                                            month.month - 1)
    return last_month, month


def summary(operator, ward, month):
    return operator.get(f"/v1/regions/{ward.region_id}/summary?month={month}")


def every_family_told(notification, ward, day):
    """Each app household told of its ticket, and each applied redemption given a receipt
    (to the family, or to the organisation of a card family), and nothing left to send."""
    logged = notification["by_template"]
    app_households = sum(1 for household in ward.households if household["channel"] == "app")
    receipts = logged.get("ticket_redeemed", 0) + logged.get("organisation_ticket_redeemed", 0)
    told = logged.get("tickets_issued", 0) == app_households and receipts == day.applied
    return told and not _still_queued(notification)


def _still_queued(notification):
    """Messages in the delivery log that its sending timer has not finished with yet."""
    return sum(outcomes.get("pending", 0) + outcomes.get("sending", 0)
               for outcomes in notification["by_channel"].values())


def wait_for(probe, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.5)
    raise RuntimeError(f"the platform did not catch up within {timeout} s")


def keep_running(stack):
    print(f"\nThe platform is running. Gateway: {stack.gateway_url}  (Ctrl-C stops it)")
    print(f"  API: {stack.gateway_url}/docs  and  {stack.gateway_url}/openapi.json")
    print(f"  Sign in: POST {stack.gateway_url}/v1/auth/sign-in with "
          f'{{"login": "demo-operator", "password": "{DEMO_PASSWORD}"}}')
    print("  (every demo account has that password: .venv/bin/python -m gateway.staff list)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def step(text):
    print(f"· {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
