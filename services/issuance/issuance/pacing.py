"""How long an operator's request for a run grants before it answers.

A region of a hundred thousand households takes longer to grant than the gateway waits for an
RPC answer (``RPC_TIMEOUT_SECONDS``). ``start_run`` grants for at most
``ISSUANCE_ANSWER_WITHIN_SECONDS``, answers the run as it stands and hands the rest to
``continue_run``; the timer finishes any run left running, should that hand-over be lost.
"""

from nameko.extensions import DependencyProvider

CONFIG_KEY = "ISSUANCE_ANSWER_WITHIN_SECONDS"
# Half the gateway's default RPC timeout: the answer, and its way back, fit in the rest.
DEFAULT_SECONDS = 5.0


class AnswerWithin(DependencyProvider):
    """The seconds a ``start_run`` grants for before it answers."""

    def setup(self):
        self.seconds = float(self.container.config.get(CONFIG_KEY, DEFAULT_SECONDS))

    def get_dependency(self, worker_ctx):
        return self.seconds
