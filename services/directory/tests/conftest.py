from pathlib import Path


from shokudo_common.testing import database_fixtures

from directory.models import Base

MIGRATIONS = Path(__file__).resolve().parents[1] / "directory" / "migrations"


database, session = database_fixtures("directory", MIGRATIONS, Base.metadata)
