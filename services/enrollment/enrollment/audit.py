"""The trail of every read and change of households' personal data.

Enrollment alone holds names, addresses, phones and emails, so it alone keeps the trail. Each
RPC method that shows or changes them takes an ``accessor`` (``{actor, purpose, reason}``),
which the gateway builds from the caller it admitted and the route's stated purpose, and
writes one record per organisation concerned:

    who      actor: ``organisation:<id>:<staff account>``, ``operator:<staff account>``,
             ``service:notification``
    when     at, and the correlation id that ties it to the request and the logs
    what     action, household ids, the names of the fields read or changed (never values)
    why      purpose (``case_review``), and the reason staff typed, if any

A change writes its record in its own transaction, before the one commit: a change that fails
leaves no record. A read writes its record and commits it before answering.

A caller that passes no accessor (an older client, a test) is recorded as ``unattributed``
with purpose ``unstated``, so that no access goes unrecorded while callers catch up.
"""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from shokudo_common.validation import load

from enrollment import domain
from enrollment.models import AccessRecord
from enrollment.schemas import AccessorIn, TrailQuery

UNATTRIBUTED = {"actor": "unattributed", "purpose": "unstated", "reason": None}
NOTIFICATION = {"actor": "service:notification", "purpose": "notify_household",
                "reason": None}

# What reading a household shows: every detail, its status and its card or code.
SHOWN_FIELDS = (*domain.DETAIL_FIELDS, "status", "card_number")
CONTACT_FIELDS = ("channel", "language", "email", "external_ref")


@dataclass(frozen=True)
class Accessor:
    actor: str
    purpose: str
    reason: str | None = None


def accessor_from(data, default=UNATTRIBUTED):
    """The accessor an RPC was given, checked; ``default`` when none was."""
    return Accessor(**load(AccessorIn(), data if data is not None else default))


class Trail:
    """Records accesses through one worker's session, stamped by its clock and request."""

    def __init__(self, session, accessor, correlation_id, now):
        self.session = session
        self.accessor = accessor
        self.correlation_id = correlation_id
        self.now = now

    def record(self, action, households, fields):
        """One record per organisation whose households were read or changed; none for none."""
        by_organisation = defaultdict(list)
        for household in households:
            by_organisation[(household.organisation_id, household.region_id)].append(household.id)

        at = self.now()
        for (organisation_id, region_id), household_ids in by_organisation.items():
            self.session.add(AccessRecord(
                at=at, organisation_id=organisation_id, region_id=region_id,
                actor=self.accessor.actor, purpose=self.accessor.purpose,
                reason=self.accessor.reason, action=action,
                household_ids=sorted(set(household_ids)), fields=sorted(set(fields)),
                correlation_id=self.correlation_id,
            ))
        self.session.flush()


def read_trail(session, query):
    """A page of an organisation's or a region's trail, oldest first, after a record id.

    Returns the records and the id to ask ``after`` for the next page (None on the last).
    """
    wanted = load(TrailQuery(), query)
    statement = select(AccessRecord)
    if wanted["organisation_id"]:
        statement = statement.where(AccessRecord.organisation_id == wanted["organisation_id"])
    else:
        statement = statement.where(AccessRecord.region_id == wanted["region_id"])
    statement = _narrowed(statement, wanted)

    page = session.scalars(statement.order_by(AccessRecord.id)
                           .limit(wanted["limit"] + 1)).all()
    more = len(page) > wanted["limit"]
    page = page[:wanted["limit"]]
    return page, (page[-1].id if more else None)


def _narrowed(statement, wanted):
    if wanted["household_id"]:
        statement = statement.where(AccessRecord.household_ids.contains([wanted["household_id"]]))
    if wanted["since"]:
        statement = statement.where(AccessRecord.at >= wanted["since"])
    if wanted["until"]:
        statement = statement.where(AccessRecord.at < wanted["until"])
    if wanted["after"] is not None:
        statement = statement.where(AccessRecord.id > wanted["after"])
    return statement
