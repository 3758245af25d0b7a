"""conditional requirement: the day a conditional item became required

Clinical rules version 2, section 3: a step with `required_if` is required only while its
condition holds, from the day it starts to hold (`checklist_item.required_since`); its due date is
its own, or 14 days from that day when its own has passed. While not required it is never
overdue: the open items of conditional steps that are not required lose their first overdue day
here. Each episode's requirements are worked out afresh at its next change, and all of them by
`flask refresh-flags` (the README's upgrade note says to run it after this migration).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('required_since', sa.Date(), nullable=True))
    bind = op.get_bind()
    step = sa.table('protocol_step', sa.column('id', sa.Integer), sa.column('required_if', sa.JSON))
    item = sa.table(
        'checklist_item',
        sa.column('step_id', sa.Integer),
        sa.column('status', sa.String),
        sa.column('required', sa.Boolean),
        sa.column('overdue_from', sa.Date),
    )
    # JSON null and SQL NULL both mean "unconditional": told apart in Python, as JSON has no
    # equality operator on PostgreSQL.
    conditional = [row.id for row in bind.execute(sa.select(step.c.id, step.c.required_if)) if row.required_if]
    if conditional:
        bind.execute(
            item.update()
            .where(item.c.step_id.in_(conditional), item.c.status == 'open', item.c.required == sa.false())
            .values(overdue_from=None)
        )


def downgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_column('required_since')
