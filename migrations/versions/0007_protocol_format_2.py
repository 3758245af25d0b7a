"""protocol format 2: windows, grace, alerts, conditional requirement, procedure variants

`protocol_step` gains what clinical rules version 2 declare per step: the last day a sessions
step's sessions count (`sessions_until_days`), an outcome step's window (`window_from_days`,
`window_until_days`), the grace days before an item is overdue (`grace_days`, 0 for the steps
of version 1), and, as JSON, a safety alert, a conditional requirement, variants by procedure
type and the procedure types a step applies to. Published versions are not changed: their
steps keep the defaults, which mean what version 1 meant.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sessions_until_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('window_from_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('window_until_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('grace_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('alert', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('required_if', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('variants', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('only_for', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        for column in (
            'only_for', 'variants', 'required_if', 'alert',
            'grace_days', 'window_until_days', 'window_from_days', 'sessions_until_days',
        ):
            batch_op.drop_column(column)
