"""What the demo prints at the end: the ward's month as the operator would report it.

Every figure comes from the services' own books through the gateway's summary route, except
the visits and answers the demo itself counted at the counters, printed alongside to show
that the two agree.
"""


def yen(amount):
    return f"¥{amount:,}"


def print_summary(ward, run, day, summary):
    enrollment = summary["enrollment"]
    redemption = summary["redemption"]
    notification = summary["notification"]

    print()
    print(f"=== {ward.name} ({ward.region_id}) — meals in {summary['month']},"
          f" on tickets issued in {run['period']} ===")
    print_households(enrollment)
    print_issuance(run)
    print_redemptions(redemption, day)
    print_busiest(redemption["busiest_restaurants"])
    print_declines(redemption["declines"])
    print_messages(notification)


def print_households(enrollment):
    print("\nHouseholds per organisation (active: app / card)")
    for counts in enrollment.values():
        print(f"  {counts['name']}: {counts['active']} active of cap {counts['cap']}"
              f" ({counts['app']} app / {counts['card']} card),"
              f" {counts['suspended']} suspended")
    print("  (the demo suspends one household after the issuance: it holds a ticket it cannot"
          " use)")


def print_issuance(run):
    print(f"\nIssuance for {run['period']}: {run['households']} grants,"
          f" {yen(run['yen_granted'])} issued, usable {run['valid_from'][:10]}"
          f" to {run['valid_until'][:10]} (exclusive), status {run['status']}")


def print_redemptions(redemption, day):
    print(f"\nRedeemed: {redemption['redemptions']} meals, {yen(redemption['yen_redeemed'])}"
          f" from tickets; families paid {yen(redemption['yen_paid_at_counter'])} at the counter")
    print(f"  cross-check, as the restaurants' counters answered: {day.visits} attempts,"
          f" {day.applied} applied for {yen(day.applied_yen)},"
          f" {yen(day.counter_yen)} paid by families")


def print_busiest(restaurants):
    print("\nFive busiest restaurants (by yen redeemed)")
    for place, restaurant in enumerate(restaurants, start=1):
        print(f"  {place}. {restaurant['name']}: {restaurant['redemptions']} meals,"
              f" {yen(restaurant['applied_yen'])}")


def print_declines(declines):
    print("\nDeclined at the counter, by reason")
    for reason, count in sorted(declines.items(), key=lambda item: -item[1]):
        print(f"  {reason}: {count}")


TEMPLATES = {
    "tickets_issued": "tickets issued, to app families",
    "ticket_redeemed": "receipts, to app families",
    "organisation_tickets_issued": "tickets issued to card families, one notice per"
                                   " organisation and batch of grants",
    "organisation_ticket_redeemed": "receipts of card families, to their organisation",
}


def print_messages(notification):
    print(f"\nMessages: {notification['total']} in the delivery log")
    for channel, outcomes in notification["by_channel"].items():
        described = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items())
        print(f"  {channel}: {described}")
    for template, count in sorted(notification["by_template"].items()):
        print(f"    {count:>4}  {TEMPLATES.get(template, template)}")
