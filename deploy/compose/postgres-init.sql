-- Run by the postgres image on its first start (an empty data volume), as POSTGRES_USER.
-- One database per service and one for the gateway: each service owns its data and no other service reads it.
-- The schemas themselves come from each service's migrations (deploy/migrate.py).
CREATE DATABASE shokudo_directory;
CREATE DATABASE shokudo_enrollment;
CREATE DATABASE shokudo_issuance;
CREATE DATABASE shokudo_redemption;
CREATE DATABASE shokudo_notification;
-- The gateway's own: staff accounts and sessions, no business data.
CREATE DATABASE shokudo_gateway;
