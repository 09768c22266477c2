"""Building blocks shared by the Dokodemo Kodomo Shokudo services.

Nothing here knows about households, grants or restaurants: this package holds the plumbing
every service needs in the same shape (errors that cross RPC, a database per service, the
transactional outbox, idempotent event handling, structured logs, metrics, and the local
process stack used by the demo and the integration tests).
"""
