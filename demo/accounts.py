"""The demo's staff accounts, created as the operator creates them and then signed in.

The operator runs ``python -m gateway.staff create ...``; the demo calls the same functions on
its own gateway database, then signs in through the gateway like any member of staff.
"""

from gateway.staff import AccountError, create_account_at

# The demo's databases are made afresh at each run; this password protects nothing else.
DEMO_PASSWORD = "demo password, for the demo ward only"


class DemoStaff:
    def __init__(self, stack, gateway):
        self.stack = stack
        self.gateway = gateway

    def __call__(self, role, **scope):
        """The gateway as a staff member of ``role`` (and its organisation or restaurant)."""
        login = "-".join([f"demo-{role}", *scope.values()])
        try:
            create_account_at(self.stack.database_uri("gateway"), login, DEMO_PASSWORD, role,
                              **scope)
        except AccountError:
            pass  # this member of staff already has an account
        return self.gateway.sign_in(login, DEMO_PASSWORD)
