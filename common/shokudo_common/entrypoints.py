"""nameko entrypoints as every service uses them.

``rpc`` marks domain errors as expected: nameko then logs them as a warning without a
traceback, and they reach the caller as themselves (see :mod:`shokudo_common.errors`).
"""

from nameko.rpc import rpc as nameko_rpc

from shokudo_common.errors import ShokudoError

# Called once here: nameko's bare ``@rpc`` form would drop keyword arguments given later.
rpc = nameko_rpc(expected_exceptions=ShokudoError)
