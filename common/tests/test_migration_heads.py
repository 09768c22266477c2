"""Each component's migrations end in one head: two branches that each added a migration on
the same parent would leave ``alembic upgrade head`` refusing to choose, at every deploy."""

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from shokudo_common.devstack import COMPONENTS


@pytest.mark.parametrize("component", [c for c in COMPONENTS if c.has_database],
                         ids=lambda component: component.name)
def test_each_components_migrations_end_in_one_head(component):
    config = Config()
    config.set_main_option("script_location", str(component.migrations))

    heads = ScriptDirectory.from_config(config).get_heads()

    assert len(heads) == 1, (
        f"{component.name} has migration heads {heads}: point the newer migration's"
        " down_revision at the other")
