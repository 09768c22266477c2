"""Matching the idempotency keys the gateway makes for requests that come without one."""

import re

GENERATED = re.compile(r"(^|:)request-[0-9a-f]{32}$")


class OwnRequestKey(str):
    """Equal to any idempotency key the gateway made for a request that came without one."""

    def __eq__(self, other):
        return isinstance(other, str) and GENERATED.search(other) is not None

    __hash__ = str.__hash__


GENERATED_KEY = OwnRequestKey("<generated>")
