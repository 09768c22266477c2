"""The care methods of the enrollment and redemption fakes (conftest.py), as contracts.md
describes them; each answer carries fields a careless gateway would pass on."""

from shokudo_common.errors import NotFound

CONCERN = "f0f0f0f0-0000-4000-8000-00000000000f"
RAISED_AT = "2026-03-10T12:00:00+09:00"


class CareEnrollment:
    """Concerns kept for organisations, and moves; mixed into FakeEnrollment."""

    def _concern(self, organisation_id, status="open", **more):
        household_id = next(household_id for household_id, household in self.households.items()
                            if household["organisation_id"] == organisation_id)
        return {"concern_id": CONCERN, "household_id": household_id, "external_ref": "A-001",
                "restaurant_id": "cccccccc-2222-4000-8000-000000000003",
                "restaurant_name": "みどり食堂",
                "redemption_id": "abababab-0000-4000-8000-0000000000ab", "category": "mood",
                "note": "元気がありませんでした", "status": status, "raised_at": RAISED_AT,
                "acknowledged_at": None, "closed_at": None, "guardian_name": "山田 花子",
                **more}

    def list_concerns(self, organisation_id, status=None, accessor=None):
        self.accessed("list_concerns", accessor)
        self.record("list_concerns", organisation_id, status=status)
        self.get_organisation(organisation_id)
        return [self._concern(organisation_id)]

    def acknowledge_concern(self, organisation_id, concern_id, accessor=None):
        return self._concern_moved_on("acknowledge_concern", organisation_id, concern_id,
                                      accessor, status="acknowledged",
                                      acknowledged_at="2026-03-10T13:00:00+09:00")

    def close_concern(self, organisation_id, concern_id, accessor=None):
        return self._concern_moved_on("close_concern", organisation_id, concern_id, accessor,
                                      status="closed", closed_at="2026-03-10T14:00:00+09:00")

    def _concern_moved_on(self, method, organisation_id, concern_id, accessor, **changes):
        self.accessed(method, accessor)
        self.record(method, organisation_id, concern_id)
        # Only organisation A has a concern: another organisation's is not found.
        concern = self._concern(organisation_id, **changes)
        if concern_id != CONCERN or concern["household_id"] != self._first_household():
            raise NotFound("concern_not_found", f"no concern {concern_id}")
        return concern

    def _first_household(self):
        return next(iter(self.households))

    def restaurant_concerns(self, restaurant_id):
        self.record("restaurant_concerns", restaurant_id)
        return [self._concern(self.households[self._first_household()]["organisation_id"])]

    def move_household(self, organisation_id, household_id, to_organisation_id, accessor=None,
                       **keyed):
        self.accessed("move_household", accessor)
        household = self.households.get(household_id)
        if household is None or household["organisation_id"] != organisation_id:
            raise NotFound("household_not_found", f"no household {household_id}")
        self.record("move_household", organisation_id, household_id, to_organisation_id,
                    **keyed)
        return {**household, "organisation_id": to_organisation_id,
                "in_force_at_counter": True}


class CareRedemption:
    """Usage, the counter's day and concerns raised; mixed into FakeRedemption. Lines are about
    the household of the fake's counter answer (``self.answer``)."""

    def organisation_usage(self, organisation_id, region_id, period=None, reach_out_only=False):
        self.record("organisation_usage", organisation_id, region_id, period=period,
                    reach_out_only=reach_out_only)
        return {"organisation_id": organisation_id, "period": period or "2026-02",
                "time_zone": "Asia/Tokyo", "households": [{
                    "household_id": self.answer["household_id"], "status": "active",
                    "granted_yen": 3000, "used_yen": 0, "left_yen": 3000, "expired_yen": 0,
                    "last_day": "2026-03-31", "last_used_at": None, "reach_out": True,
                    "reach_out_reason": "unused_two_periods",
                    "reach_out_message_ja": "2か月続けて…", "reach_out_message_en": "Two…",
                    "card_number": "4539578763621486"}]}

    def restaurant_day(self, restaurant_id, date=None):
        self.record("restaurant_day", restaurant_id, date)
        household_id = self.answer["household_id"]
        return {"restaurant_id": restaurant_id, "restaurant_name": "みどり食堂",
                "date": date or "2026-03-10", "redemptions": 1, "voids": 0, "applied_yen": 800,
                "pay_at_counter_yen": 0, "household_ids": [household_id],
                "lines": [{"redemption_id": "r-1", "at": RAISED_AT, "bill_yen": 800,
                           "applied_yen": 800, "pay_at_counter_yen": 0, "voided": False,
                           "voided_at": None, "household_id": household_id}]}

    def raise_concern(self, restaurant_id, redemption_id, category, note, **keyed):
        self.record("raise_concern", restaurant_id, redemption_id, category, note, **keyed)
        return {"concern_id": CONCERN, "redemption_id": redemption_id, "category": category,
                "raised_at": RAISED_AT, "status": "open",
                "household_id": self.answer["household_id"],
                "organisation_id": self.answer["organisation_id"]}
