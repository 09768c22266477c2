"""Who reads or changes households' personal data, and why, as enrollment records it.

Every route that shows or changes a household's personal data passes enrollment an
``accessor``: the caller as admitted here (role, scope id and staff account), the route's
own stated purpose, and the reason staff may give in an ``X-Access-Reason`` header. Who is
calling always comes from the token, never from the body or a header.
"""

from urllib.parse import unquote

from shokudo_common.validation import load

from gateway import schemas

ACCESS_REASON_HEADER = "X-Access-Reason"


class UndeclaredRoute(RuntimeError):
    """A route reaches personal data without saying so in its declaration: a bug of ours."""

# The purposes routes state, one per kind of work.
ENROLMENT = "enrolment"
CASELOAD_REVIEW = "caseload_review"
CASE_REVIEW = "case_review"
STATUS_CHANGE = "status_change"
CARD_REPLACEMENT = "card_replacement"
SPREADSHEET_IMPORT = "spreadsheet_import"
SPREADSHEET_EXPORT = "spreadsheet_export"
CARD_ISSUE = "card_issue"
CARD_BLOCK = "card_block"
CARD_PRINTING = "card_printing"
APP_LETTER = "app_letter"
ACTIVATION_CODE = "activation_code"
HOUSEHOLD_MOVE = "household_move"
USAGE_REVIEW = "usage_review"
CONCERN_REVIEW = "concern_review"


def actor(caller):
    """The caller as the trail names it: its role, the id it acts for, and the staff account
    signed in (``organisation:<organisation id>:<account id>``, ``operator:<account id>``)."""
    signed_in = [caller.staff_id] if caller.staff_id else []
    return ":".join([caller.role, *caller.scope_claims().values(), *signed_in])


def accessor(request, caller, purpose):
    """The ``accessor`` argument of an enrollment call: who, for what, and the staff's reason.

    Only a route declared with ``personal_data=True`` builds one, so that the API document
    lists its ``X-Access-Reason`` header and the trail's tests find the route.
    """
    if not getattr(request, "personal_data", False):
        raise UndeclaredRoute(f"{request.path} passes an accessor but is not declared with "
                              "personal_data=True")
    return {"actor": actor(caller), "purpose": purpose, "reason": access_reason(request)}


def access_reason(request):
    """The ``X-Access-Reason`` header, decoded and checked (422 if too long); None if absent."""
    offered = request.headers.get(ACCESS_REASON_HEADER)
    if offered is None:
        return None
    decoded = unquote(offered, errors="replace")
    return load(schemas.AccessReasonHeader(), {ACCESS_REASON_HEADER: decoded})["reason"]


def trail_query(request, **whose):
    """The enrollment query for a page of ``whose`` trail, from the query string (checked)."""
    wanted = load(schemas.TrailQuery(), request.args.to_dict())
    for moment in ("since", "until"):
        if moment in wanted:
            wanted[moment] = wanted[moment].isoformat()
    return {**wanted, **whose}
