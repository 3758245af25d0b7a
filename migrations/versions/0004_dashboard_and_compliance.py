"""dashboard and compliance: completion date of items, indexes for outstanding items

`checklist_item.completed_on` is the site's local date of completion (TIMEZONE), compared
with the due date for "completed on time"; existing completed items get it from
`completed_at`. A partial index on open items by due date serves the dashboard's order and
counts and the overdue report.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:40:00
"""

import os
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status = 'open'")


def _backfill_completed_on() -> None:
    """Date every completed item by the local day of its completion time."""
    conn = op.get_bind()
    zone = ZoneInfo(os.environ.get("TIMEZONE") or "UTC")
    item = sa.table(
        'checklist_item',
        sa.column('id', sa.Integer),
        sa.column('completed_at', sa.DateTime(timezone=True)),
        sa.column('completed_on', sa.Date),
    )
    rows = conn.execute(sa.select(item.c.id, item.c.completed_at).where(item.c.completed_at.is_not(None))).all()
    updates = []
    for ident, at in rows:
        if at.tzinfo is None:  # SQLite keeps UTC without the zone
            at = at.replace(tzinfo=ZoneInfo("UTC"))
        updates.append({"ident": ident, "day": at.astimezone(zone).date()})
    if updates:
        conn.execute(
            item.update().where(item.c.id == sa.bindparam("ident")).values(completed_on=sa.bindparam("day")),
            updates,
        )


def upgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completed_on', sa.Date(), nullable=True))
        batch_op.create_index(
            'ix_checklist_item_open_by_due', ['due_date', 'id'], unique=False,
            sqlite_where=_OPEN, postgresql_where=_OPEN,
        )
    _backfill_completed_on()


def downgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_index('ix_checklist_item_open_by_due', sqlite_where=_OPEN, postgresql_where=_OPEN)
        batch_op.drop_column('completed_on')
