"""grace days: the first day an item is overdue, and the tally of outstanding items by it

Clinical rules version 2 give a step grace days: after its due date an open item is "Due now"
and becomes "Overdue" only after the grace days. `checklist_item.overdue_from` holds the first
day it is overdue (the day after its due date for the steps of version 1, which have no grace),
so lists and counts find each state with an indexed comparison. `outstanding_tally` counts
outstanding items by it too; its triggers are made again with the new key.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:30:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tallies():
    """Migration 0005's tally helper (the triggers that keep a tally)."""
    path = Path(__file__).with_name('0005_tallies.py')
    spec = importlib.util.spec_from_file_location('periop_migration_0005', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OLD_KEY = ('due_date', 'phase', 'role', 'required')
NEW_KEY = ('due_date', 'overdue_from', 'phase', 'role', 'required')


def _rekey(key: tuple[str, ...], with_column: bool) -> None:
    tallies = _tallies()
    old = tallies.OUTSTANDING
    old.drop_triggers()
    with op.batch_alter_table('outstanding_tally', schema=None) as batch_op:
        batch_op.drop_index('ix_outstanding_tally_key')
    if with_column:
        with op.batch_alter_table('outstanding_tally', schema=None) as batch_op:
            batch_op.add_column(sa.Column('overdue_from', sa.Date(), nullable=True))
    else:
        with op.batch_alter_table('outstanding_tally', schema=None) as batch_op:
            batch_op.drop_column('overdue_from')
    with op.batch_alter_table('outstanding_tally', schema=None) as batch_op:
        batch_op.create_index('ix_outstanding_tally_key', list(key), unique=True, postgresql_nulls_not_distinct=True)
    tally = tallies.Tally('outstanding_tally', 'checklist_item', key, '{r}.outstanding', ('outstanding',), 'items')
    op.execute('DELETE FROM outstanding_tally')
    op.execute(tally.fill())
    tally.create_triggers()


def _item_index(columns: list[str]) -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_index('ix_checklist_item_outstanding')
        batch_op.create_index(
            'ix_checklist_item_outstanding', columns, unique=False,
            sqlite_where=sa.text('outstanding = 1'), postgresql_where=sa.text('outstanding'),
        )


def upgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_from', sa.Date(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('UPDATE checklist_item SET overdue_from = due_date + 1 WHERE due_date IS NOT NULL')
    else:
        op.execute("UPDATE checklist_item SET overdue_from = date(due_date, '+1 day') WHERE due_date IS NOT NULL")
    _item_index(['due_date', 'overdue_from', 'phase', 'role', 'required', 'id'])
    _rekey(NEW_KEY, with_column=True)


def downgrade() -> None:
    _rekey(OLD_KEY, with_column=False)
    _item_index(['due_date', 'phase', 'role', 'required', 'id'])
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_column('overdue_from')
