"""Bills paid with cards at many restaurants at once, through the gateway, against pgbench.

    .venv/bin/python -m bench.redemption        # on a bench stack of its own (bench.platform)

1. A region whose program grants 100,000 yen (the most a program may), ``BENCH_RESTAURANTS``
   (10) approved restaurants and ``BENCH_CARDS`` (200) card households, set up through the
   gateway as the operator and an organisation would, and this month's tickets issued.
2. ``wrk`` for ``BENCH_SECONDS`` (20) with ``BENCH_CONNECTIONS`` (32) connections: each request
   a 1-yen bill from a random restaurant (its own staff token) for a random card, with a fresh
   Idempotency-Key (bench/redemption.lua). Throughput and p50/p95/p99 as wrk measures them
   (closed loop: a slow answer delays that connection's next bill).
3. The baseline in the same run: ``pgbench -i`` on a scratch database, then ``pgbench -N`` (the
   simple-update transaction) for as long with ``BENCH_PGBENCH_CLIENTS`` (16) clients.
4. Open loop at half pgbench's TPS: bills sent on a fixed schedule whatever the answers, each
   latency counted from its scheduled time (wrk2's correction; wrk2 is not packaged), and
   again at half the gateway's own throughput from step 2, to show the latency it keeps when
   not saturated.

Targets (issue 6): throughput at least 30 % of pgbench's TPS; p99 under 50 ms at half of it.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from shokudo_common.periods import Period

from bench.platform import (
    figure, heading, percentiles, running_platform, scalar, signed_in, verdict, wait_until,
)

REGION = "bench-counter"
TIME_ZONE = "Asia/Tokyo"
LUA = Path(__file__).with_name("redemption.lua")
BILL_YEN = 1
TARGET_SHARE = 0.30
TARGET_P99_MS = 50.0
OPEN_ALL_DAY = {day: [{"opens": "00:00", "closes": "00:00"}]
                for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def setting(name, default):
    return type(default)(os.environ.get(name, default))


# -- the region ------------------------------------------------------------------------

def period_to_issue():
    today = datetime.now(ZoneInfo(TIME_ZONE))
    return Period(today.year - 1, 12) if today.month == 1 else Period(today.year,
                                                                      today.month - 1)


def open_region(stack, restaurants, cards):
    """(restaurant ids, card numbers) of a region ready at the counter."""
    operator = signed_in(stack, "operator")
    operator.put(f"/v1/regions/{REGION}/program", {
        "name": "ベンチ区 こども食堂", "amount_yen": 100_000, "time_zone": TIME_ZONE})
    organisation = operator.post(f"/v1/regions/{REGION}/organisations", {
        "name": "NPO ベンチ", "household_cap": cards + 100,
        "contact_email": "npo@bench.example.org", "contact_phone": "03-0000-0001"})
    staff = signed_in(stack, "organisation", organisation_id=organisation["id"])

    restaurant_ids = [approved_restaurant(operator, staff, organisation, number)
                      for number in range(restaurants)]
    card_numbers = [card_household(staff, organisation, number)["card_number"].replace(" ", "")
                    for number in range(cards)]

    wait_until(lambda: operator.get(f"/v1/regions/{REGION}/roster-count")["count"] == cards,
               timeout=300, what="issuance learning of the card households")
    operator.post(f"/v1/regions/{REGION}/issuance-runs", {"period": str(period_to_issue())})
    wait_until(lambda: counter_ready(stack, restaurants, cards), timeout=300, interval=0.5,
               what="redemption ready at the counter")
    return restaurant_ids, card_numbers


def approved_restaurant(operator, staff, organisation, number):
    nominated = staff.post(f"/v1/organisations/{organisation['id']}/restaurants", {
        "name": f"ベンチ食堂 {number + 1}", "name_kana": "ベンチショクドウ",
        "address": "ベンチ区 1-1-1", "latitude": 35.6, "longitude": 139.7,
        "phone": "03-1111-2222", "opening_hours": OPEN_ALL_DAY})
    return operator.post(f"/v1/restaurants/{nominated['id']}/approve")["id"]


def card_household(staff, organisation, number):
    return staff.post(f"/v1/organisations/{organisation['id']}/households", {
        "external_ref": f"bench-{number + 1}", "guardian_name": "試験 保護者",
        "guardian_name_kana": "シケン ホゴシャ", "address": "ベンチ区 2-2-2", "children": 1,
        "channel": "card", "phone": "090-0000-0000", "email": None})


def counter_ready(stack, restaurants, cards):
    """Redemption knows every restaurant, card and ticket of the region."""
    counts = (
        scalar(stack, "redemption", "SELECT count(*) FROM restaurants"
               " WHERE region_id = :r AND status = 'active'", r=REGION),
        scalar(stack, "redemption", "SELECT count(*) FROM cards"
               " WHERE region_id = :r AND status = 'active'", r=REGION),
        scalar(stack, "redemption", "SELECT count(*) FROM tickets WHERE region_id = :r", r=REGION),
    )
    return counts == (restaurants, cards, cards)


def counters_file(stack, restaurant_ids, card_numbers):
    """One line per restaurant and card: what the Lua script picks from."""
    tokens = {restaurant_id: signed_in(stack, "restaurant", restaurant_id=restaurant_id).token
              for restaurant_id in restaurant_ids}
    lines = [f"{restaurant_id} {tokens[restaurant_id]} {card}\n"
             for restaurant_id in restaurant_ids for card in card_numbers]
    handle = tempfile.NamedTemporaryFile("w", suffix=".counters", delete=False)
    with handle:
        handle.writelines(lines)
    return Path(handle.name), lines


# -- wrk, closed loop --------------------------------------------------------------------

def with_wrk(stack, counters, connections, seconds):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(LUA), stack.gateway_url, "--", str(counters), str(BILL_YEN)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def cpu_seconds(stack):
    """CPU time (user + system) each process of the stack has used so far, by name."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for process in stack.processes:
        if process.component.name == "smtp" or process.popen.poll() is not None:
            continue
        # Fields 14 and 15 of /proc/<pid>/stat, counted after the command's closing bracket.
        fields = Path(f"/proc/{process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        name = f"{process.component.name}-{process.replica}"
        used[name] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def applied_redemptions(stack):
    return scalar(stack, "redemption", "SELECT count(*) FROM redemptions")


# -- pgbench -----------------------------------------------------------------------------

def pgbench_tps(stack, clients, seconds):
    """pgbench's simple-update TPS on a scratch database of the same server."""
    database = f"{stack.db_prefix}_pgbench"
    target = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *target, "--if-exists", database], check=True)
    subprocess.run(["createdb", *target, database], check=True)
    try:
        subprocess.run(["pgbench", *target, "-i", "-q", database], check=True,
                       capture_output=True)
        done = subprocess.run(
            ["pgbench", *target, "-N", "-c", str(clients), "-j", "2", "-T", str(seconds),
             database], capture_output=True, text=True)
        if done.returncode != 0:
            # Most often the server's max_connections, shared with every other stack.
            raise RuntimeError(f"pgbench failed: {done.stderr[-500:]}")
        output = done.stdout
    finally:
        subprocess.run(["dropdb", *target, "--if-exists", database], check=True)
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


# -- open loop at a fixed rate -----------------------------------------------------------

class FixedRate:
    """Bills at ``rate`` per second for ``seconds``, on a schedule the answers cannot slow.

    Each bill has its time on the schedule; a sender that starts late because all were busy
    still counts its latency from that time, as wrk2 does, so queueing is not hidden.
    """

    def __init__(self, gateway_url, lines, rate, seconds, senders=64):
        self.host, self.port = gateway_url.removeprefix("http://").split(":")
        self.lines = [line.split() for line in lines]
        self.rate, self.seconds, self.senders = rate, seconds, senders
        self.total = int(rate * seconds)
        self.next_slot = 0
        self.lock = threading.Lock()
        self.latencies_ms, self.failures = [], 0

    def run(self):
        self.started = time.monotonic() + 0.5
        threads = [threading.Thread(target=self._send_bills, args=(sender,), daemon=True)
                   for sender in range(self.senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - self.started
        sent = len(self.latencies_ms) + self.failures
        figures = {"sent": sent, "unsent": self.total - sent, "failures": self.failures,
                   "achieved": len(self.latencies_ms) / elapsed,
                   **percentiles(self.latencies_ms)}
        if figures["unsent"] > self.total / 100:
            # Over 1 % of the bills never left in time: the tail is beyond anything measured.
            figures["p99"] = float("inf")
        return figures

    def _take_slot(self):
        """The next bill's place on the schedule; None once all are sent, or once the run is
        over by more than a few seconds (a rate the platform cannot keep up with)."""
        if time.monotonic() > self.started + self.seconds + 3:
            return None
        with self.lock:
            slot, self.next_slot = self.next_slot, self.next_slot + 1
        return slot if slot < self.total else None

    def _send_bills(self, sender):
        connection = http.client.HTTPConnection(self.host, int(self.port), timeout=10)
        while (slot := self._take_slot()) is not None:
            scheduled = self.started + slot / self.rate
            time.sleep(max(0.0, scheduled - time.monotonic()))
            ok = self._send(connection, self.lines[(slot * 7919 + sender) % len(self.lines)])
            with self.lock:
                if ok:
                    self.latencies_ms.append((time.monotonic() - scheduled) * 1000)
                else:
                    self.failures += 1
        connection.close()

    def _send(self, connection, line):
        restaurant, token, card = line
        body = json.dumps({"bill_yen": BILL_YEN, "card_number": card})
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                   "Idempotency-Key": str(uuid.uuid4())}
        try:
            connection.request("POST", f"/v1/restaurants/{restaurant}/redemptions", body,
                               headers)
            response = connection.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()  # reconnects at the next request
            return False


# -- the benchmark -----------------------------------------------------------------------

def run(stack):
    """The benchmark on a running ``stack``; True when both targets are met."""
    restaurants, cards = setting("BENCH_RESTAURANTS", 10), setting("BENCH_CARDS", 200)
    connections, seconds = setting("BENCH_CONNECTIONS", 32), setting("BENCH_SECONDS", 20)
    # pgbench's clients are database connections, on a server other stacks share (its
    # max_connections is 100 here); the platform's own pools hold about as many.
    pgbench_clients = setting("BENCH_PGBENCH_CLIENTS", 16)
    heading(f"redemption: {restaurants} restaurants, {cards} cards, {connections} connections,"
            f" {seconds} s per run")
    restaurant_ids, card_numbers = open_region(stack, restaurants, cards)
    counters, lines = counters_file(stack, restaurant_ids, card_numbers)
    try:
        with_wrk(stack, counters, connections, 3)  # warm-up: pools, first RPC reply queues
        before, cpu_before = applied_redemptions(stack), cpu_seconds(stack)
        closed = with_wrk(stack, counters, connections, seconds)
        applied = applied_redemptions(stack) - before
        cpu = {name: used - cpu_before[name] for name, used in cpu_seconds(stack).items()}
        pgbench = pgbench_tps(stack, pgbench_clients, seconds)
        half_pgbench = FixedRate(stack.gateway_url, lines, pgbench / 2, seconds).run()
        half_own = FixedRate(stack.gateway_url, lines, closed["rate"] / 2, seconds).run()
    finally:
        counters.unlink()

    share = closed["rate"] / pgbench
    figure("wrk: bills answered", f"{closed['requests']:,}")
    figure("wrk: redemptions applied (redemption's table)", f"{applied:,}")
    figure("wrk: non-2xx, socket errors, timeouts",
           f"{closed['errors_status']}, {closed['errors_connect'] + closed['errors_read']}"
           f" + {closed['errors_write']}, {closed['errors_timeout']}")
    figure("wrk: throughput", f"{closed['rate']:,.0f}", "bills/s")
    figure("wrk: latency p50 / p95 / p99",
           f"{closed['p50_us'] / 1000:.1f} / {closed['p95_us'] / 1000:.1f}"
           f" / {closed['p99_us'] / 1000:.1f}", "ms")
    for name, used in sorted(cpu.items(), key=lambda item: -item[1]):
        figure(f"wrk: CPU per bill in {name}", f"{used * 1000 / max(applied, 1):.1f}", "ms")
    figure(f"pgbench -N, {pgbench_clients} clients (baseline)", f"{pgbench:,.0f}", "TPS")
    figure("ratio gateway / pgbench", f"{share:.1%}")
    for label, fixed, rate in (("half pgbench", half_pgbench, pgbench / 2),
                               ("half wrk's throughput", half_own, closed["rate"] / 2)):
        figure(f"open loop at {label} ({rate:,.0f}/s): achieved", f"{fixed['achieved']:,.0f}",
               f"bills/s, {fixed['failures']} failed, {fixed['unsent']:,} never sent")
        figure(f"open loop at {label}: p50 / p95 / p99",
               f"{fixed['p50']:.1f} / {fixed['p95']:.1f} / {fixed['p99']:.1f}", "ms")
    throughput_met = verdict(f"throughput at least {TARGET_SHARE:.0%} of pgbench",
                             share >= TARGET_SHARE)
    latency_met = verdict(f"p99 under {TARGET_P99_MS:.0f} ms at half pgbench's TPS",
                          half_pgbench["p99"] < TARGET_P99_MS)
    return throughput_met and latency_met


def main():
    with running_platform() as stack:
        run(stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
