"""Rate-limit counts shared by gateway replicas through Redis (``GATEWAY_RATE_LIMIT_STORAGE``
set to ``redis://``), as production runs them behind several replicas.

A real Redis on 127.0.0.1:6379 (scripts/infra.sh starts it when it is installed). Without one
the test skips on a developer's machine and fails under CI, where it must have run.
"""

import os
import socket
import uuid

import pytest
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from shokudo_common.testing import prerequisite_missing

from gateway.errors import TooManyRequests
from gateway.throttle import Throttle

REDIS = os.environ.get("SHOKUDO_TEST_REDIS", "redis://127.0.0.1:6379/15")


def redis_answers(host="127.0.0.1", port=6379):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def replicas():
    """Two gateway replicas' throttles, each with a storage of its own on the same Redis."""
    if not redis_answers():
        prerequisite_missing("no Redis answers on 127.0.0.1:6379"
                             " (scripts/infra.sh ensure starts one)")
    storages = [storage_from_string(REDIS) for _ in range(2)]
    rules = {"sign_in_per_address": parse_many("3/minute")}
    yield [Throttle(MovingWindowRateLimiter(storage), rules, slow_after=5, delay_seconds=2)
           for storage in storages]
    storages[0].reset()


def test_two_replicas_count_one_clients_requests_together(replicas):
    first, second = replicas
    client = f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4()}"

    first.hit("sign_in_per_address", client)
    second.hit("sign_in_per_address", client)
    first.hit("sign_in_per_address", client)

    with pytest.raises(TooManyRequests) as refused:
        second.hit("sign_in_per_address", client)
    assert refused.value.details["retry_after_seconds"] >= 1

    # Another client's count is its own.
    second.hit("sign_in_per_address", f"{client}-other")
