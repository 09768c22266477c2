"""Load the demo ward through the gateway, as its operator and organisations would.

The operator sets the region's program and registers the support organisations; each
organisation nominates the restaurants it trusts, which the operator approves, and imports its
households from the spreadsheet it exported. Nothing is written around the gateway but the
staff accounts, which the operator creates with `gateway.staff` (demo/accounts.py).
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Organisation:
    key: str
    id: str
    name: str
    staff: object
    households: list = field(default_factory=list)
    import_summary: dict = field(default_factory=dict)


@dataclass
class Ward:
    region_id: str
    name: str
    organisations: list
    restaurants: list

    @property
    def households(self):
        return [h for organisation in self.organisations for h in organisation.households]


def read_json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def load_ward(operator, staff):
    region = read_json("region.json")
    region_id = region["region_id"]
    operator.put(f"/v1/regions/{region_id}/program", program_of(region))

    organisations = [
        register(operator, staff, region_id, entry)
        for entry in read_json("organisations.json")
    ]
    restaurants = nominate_and_approve(operator, organisations, read_json("restaurants.json"))
    for organisation, entry in zip(organisations, read_json("organisations.json")):
        import_households(organisation, entry)
    return Ward(region_id, region.get("name_ja", region_id), organisations, restaurants)


def program_of(region):
    program = dict(region.get("program", {}))
    program.setdefault("name", region.get("name_ja", region["region_id"]))
    return program


def register(operator, staff, region_id, entry):
    created = operator.post(f"/v1/regions/{region_id}/organisations", {
        "name": entry["name"],
        "household_cap": entry["household_cap"],
        "contact_email": entry["contact_email"],
        "contact_phone": entry["contact_phone"],
    })
    return Organisation(entry.get("key", entry["name"]), created["id"], entry["name"],
                        staff("organisation", organisation_id=created["id"]))


def nominate_and_approve(operator, organisations, entries):
    by_key = {organisation.key: organisation for organisation in organisations}
    restaurants = []
    for entry in entries:
        nominated_by = entry["nominated_by"]
        organisation = (organisations[nominated_by] if isinstance(nominated_by, int)
                        else by_key[nominated_by])
        details = {key: value for key, value in entry.items()
                   if key not in ("nominated_by", "id", "key")}
        restaurant = organisation.staff.post(
            f"/v1/organisations/{organisation.id}/restaurants", details)
        restaurants.append(operator.post(f"/v1/restaurants/{restaurant['id']}/approve"))
    return restaurants


def import_households(organisation, entry):
    raw = (DATA / entry["csv"]).read_bytes()
    report = organisation.staff.post(
        f"/v1/organisations/{organisation.id}/households/import?dry_run=false",
        data=raw, headers={"Content-Type": "text/csv"},
    )
    organisation.import_summary = report["summary"]
    listed = organisation.staff.get(f"/v1/organisations/{organisation.id}/households")
    organisation.households = with_activation_codes(listed, report["rows"])


def with_activation_codes(households, rows):
    """Join each app household with the code its organisation printed on its letter.

    Enrollment keeps only a hash of each code, so the import's answer is the one moment the
    organisation (and this demo, playing the families) sees it.
    """
    codes = {row["household_id"]: row["activation_code"]
             for row in rows if row.get("activation_code")}
    return [dict(household, activation_code=codes.get(household["id"]))
            for household in households]
