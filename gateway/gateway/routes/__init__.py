"""The gateway's routes, one module per audience; :mod:`gateway.service` puts them together.

Every route is a few lines: the decorator admits the caller (see :mod:`gateway.auth`) and checks
the path, the body is parsed and checked where the gateway can, and one service call answers.
Errors, JSON and the correlation id are handled once, in :mod:`gateway.http`.
"""
