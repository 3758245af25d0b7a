"""safety alerts: an item's acknowledgement, and whether its alert waits for one

Clinical rules version 2: an answer a step's alert names (e.g. "Level confirmed on imaging: no")
still marks the item done, but the episode raises "Safety: ..." until a user of an acknowledging
role records the plan. `checklist_item` keeps who acknowledged, when and what they wrote, and
`alert_open` (raised, not acknowledged; kept by the app with the stored flags) with a partial
index for the dashboard's "Safety alerts" filter and count.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate_tally_triggers() -> None:
    """SQLite rebuilds checklist_item to add a foreign key, and drops its triggers with it: make
    the outstanding tally's triggers again (migration 0005's helper, 0008's key)."""
    if op.get_bind().dialect.name != 'sqlite':
        return
    path = Path(__file__).with_name('0005_tallies.py')
    spec = importlib.util.spec_from_file_location('periop_migration_0005', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    key = ('due_date', 'overdue_from', 'phase', 'role', 'required')
    tally = module.Tally('outstanding_tally', 'checklist_item', key, '{r}.outstanding', ('outstanding',), 'items')
    tally.drop_triggers()
    tally.create_triggers()


def upgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_acknowledged_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('alert_acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('alert_acknowledgement', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('alert_open', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f('fk_checklist_item_alert_acknowledged_by_id_user_account'),
            'user_account', ['alert_acknowledged_by_id'], ['id'],
        )
        batch_op.create_index(
            'ix_checklist_item_alert_open', ['episode_id'], unique=False,
            sqlite_where=sa.text('alert_open = 1'), postgresql_where=sa.text('alert_open'),
        )
    _recreate_tally_triggers()


def downgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_index('ix_checklist_item_alert_open')
        batch_op.drop_constraint(batch_op.f('fk_checklist_item_alert_acknowledged_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('alert_open')
        batch_op.drop_column('alert_acknowledgement')
        batch_op.drop_column('alert_acknowledged_at')
        batch_op.drop_column('alert_acknowledged_by_id')
    _recreate_tally_triggers()
