"""A day of lunches and dinners across the ward's restaurants.

Families come as they would: an app family shows the QR code its phone fetched a moment
before, a card family hands over its card. Bills vary from a bowl of udon to a family dinner,
so some are larger than what is left and the family pays the difference at the counter. A few
things go wrong on purpose, as they do on a real day: a restaurant is suspended at noon, a
household is suspended by its organisation, a card number is misread at the counter.
"""

import random
from collections import Counter
from dataclasses import dataclass, field

MEALS = ("lunch", "dinner")
VISIT_SHARE = 0.45  # of households eating out at each meal
BILLS = range(380, 4810, 10)


@dataclass
class DayResult:
    visits: int = 0
    applied: int = 0
    applied_yen: int = 0
    counter_yen: int = 0
    declines: Counter = field(default_factory=Counter)


class Day:
    def __init__(self, gateway, operator, ward, staff, seed=20261203):
        self.gateway = gateway
        self.operator = operator
        self.ward = ward
        self.staff = staff
        self.random = random.Random(seed)
        self.counters = {}
        self.families = {}
        self.result = DayResult()

    def run(self):
        suspended_restaurant = self.ward.restaurants[-1]
        suspended_household = self._suspend_one_household()
        for meal in MEALS:
            if meal == "dinner":
                self.operator.post(f"/v1/restaurants/{suspended_restaurant['id']}/suspend",
                                   {"reason": "demo: closed for a kitchen inspection"})
            self._serve(meal, suspended_household)
        self._misread_cards()
        return self.result

    def _serve(self, meal, suspended_household):
        households = [h for h in self.ward.households if h["status"] == "active"]
        diners = self.random.sample(households, int(len(households) * VISIT_SHARE))
        if meal == "lunch":
            diners.append(suspended_household)
        for household in diners:
            restaurant = self.random.choice(self.ward.restaurants)
            self._visit(household, restaurant, self.random.choice(BILLS))

    def _visit(self, household, restaurant, bill_yen):
        body = {"bill_yen": bill_yen, **self._ticket_of(household)}
        answer = self._counter(restaurant).post(
            f"/v1/restaurants/{restaurant['id']}/redemptions", body)
        self._record(answer)

    def _record(self, answer):
        self.result.visits += 1
        if answer["outcome"] == "applied":
            self.result.applied += 1
            self.result.applied_yen += answer["applied_yen"]
            self.result.counter_yen += answer["pay_at_counter_yen"]
        else:
            self.result.declines[answer["reason"]] += 1

    def _ticket_of(self, household):
        if household["channel"] == "card":
            return {"card_number": household["card_number"]}
        family = self._family(household)
        return {"qr_token": family.post("/v1/app/me/qr")["token"]}

    def _family(self, household):
        if household["id"] not in self.families:
            activated = self.gateway.post(
                "/v1/app/activate", {"activation_code": household["activation_code"]})
            self.families[household["id"]] = self.gateway.as_(activated["access_token"])
        return self.families[household["id"]]

    def _counter(self, restaurant):
        if restaurant["id"] not in self.counters:
            self.counters[restaurant["id"]] = self.staff("restaurant",
                                                         restaurant_id=restaurant["id"])
        return self.counters[restaurant["id"]]

    def _suspend_one_household(self):
        organisation = self.ward.organisations[0]
        household = organisation.households[0]
        organisation.staff.post(
            f"/v1/organisations/{organisation.id}/households/{household['id']}/suspend")
        return household

    def _misread_cards(self):
        """Digits swapped at the counter that still pass the check digit: unknown cards."""
        cards = [h for h in self.ward.households if h["channel"] == "card"]
        for household in self.random.sample(cards, min(3, len(cards))):
            misread = with_check_digit(household["card_number"][:10][::-1]
                                       + household["card_number"][10:15])
            restaurant = self.random.choice(self.ward.restaurants[:-1])
            answer = self._counter(restaurant).post(
                f"/v1/restaurants/{restaurant['id']}/redemptions",
                {"bill_yen": 800, "card_number": misread})
            self._record(answer)


def with_check_digit(first_fifteen):
    """The 16-digit card number whose last digit is the Luhn check digit of the first 15."""
    total = 0
    for position, digit in enumerate(reversed(first_fifteen)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return first_fifteen + str((10 - total % 10) % 10)
