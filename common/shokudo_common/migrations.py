"""Alembic glue shared by every service's ``migrations/env.py``.

Each service keeps its own migration history in its own package; the database URL comes from
the caller (``upgrade``) or the ``DB_URI`` environment variable, never from a file in the repo.
"""

import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from shokudo_common.db import psycopg2_uri

LOCAL_DEFAULT = "postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"


def run_env(target_metadata, default_database):
    """Body of a service's env.py: migrate online against the configured database."""
    uri = context.config.attributes.get("db_uri") or os.environ.get(
        "DB_URI", LOCAL_DEFAULT.format(database=default_database)
    )
    engine = create_engine(psycopg2_uri(uri), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


def upgrade(migrations_dir, db_uri, revision="head"):
    """Bring ``db_uri`` up to ``revision`` with the migrations in ``migrations_dir``."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations_dir)))
    config.attributes["db_uri"] = db_uri
    command.upgrade(config, revision)


def autogenerate(migrations_dir, db_uri, message):
    """Write a new revision from the difference between the models and ``db_uri``."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations_dir)))
    config.attributes["db_uri"] = db_uri
    command.upgrade(config, "head")
    command.revision(config, message=message, autogenerate=True)


if __name__ == "__main__":
    # python -m shokudo_common.migrations <service> "<message>": a scratch database is made,
    # brought to head, compared with the models, and dropped again.
    import importlib
    import sys

    from sqlalchemy import text

    service, message = sys.argv[1], sys.argv[2]
    package = importlib.import_module(service)
    folder = Path(package.__file__).parent / "migrations"
    scratch = f"shokudo_scratch_{service}"
    admin = create_engine(LOCAL_DEFAULT.format(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    try:
        autogenerate(folder, LOCAL_DEFAULT.format(database=scratch), message)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
