"""Each delivery keeps the correlation id of what queued it

Revision ID: df562408aa7c
Revises: 5a21354d6dc7
Create Date: 2026-12-04 10:42:48.315735

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'df562408aa7c'
down_revision: Union[str, Sequence[str], None] = '5a21354d6dc7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Deliveries queued before it keep no id: their send is logged without one."""
    op.add_column('deliveries', sa.Column('correlation_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('deliveries', 'correlation_id')
