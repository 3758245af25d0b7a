"""session minutes optional: a missed or cancelled therapy session need not say its minutes

`therapy_session.minutes` may be NULL: an attended session still records its minutes (1 to
600, the rule is in app/domain/therapy.py); a missed or cancelled one may leave them blank. Rows
keep the minutes they have. Going back, a session without minutes gets 0, the length of a
session that did not happen.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('therapy_session', schema=None) as batch_op:
        batch_op.alter_column('minutes', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    session = sa.table('therapy_session', sa.column('minutes', sa.Integer))
    op.get_bind().execute(session.update().where(session.c.minutes.is_(None)).values(minutes=0))
    with op.batch_alter_table('therapy_session', schema=None) as batch_op:
        batch_op.alter_column('minutes', existing_type=sa.Integer(), nullable=False)
