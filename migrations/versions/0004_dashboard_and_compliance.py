"""dashboard and compliance: completion date of items, stored flag dates, indexes

`episode_flag_date` holds, per episode, when it raises its flags (app/flags.py);
`flask migrate` fills it for the episodes that have none.

`checklist_item.completed_on` is the site's local date of completion (TIMEZONE), compared
with the due date for "completed on time"; existing completed items get it from
`completed_at`. `checklist_item.outstanding` (open, episode open, phase not signed off) with a
partial index by due date serves the dashboard's order and counts and the overdue report.

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

_SQLITE_OUTSTANDING = sa.text("outstanding = 1")
_PG_OUTSTANDING = sa.text("outstanding")


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


def _backfill_outstanding() -> None:
    """Open items of open episodes, in phases not signed off, are outstanding."""
    op.execute(
        "UPDATE checklist_item SET outstanding = (status = 'open'"
        " AND EXISTS (SELECT 1 FROM episode WHERE episode.id = checklist_item.episode_id"
        " AND episode.status != 'closed')"
        " AND NOT EXISTS (SELECT 1 FROM signoff WHERE signoff.episode_id = checklist_item.episode_id"
        " AND signoff.phase = checklist_item.phase AND signoff.revoked_at IS NULL))"
    )


def upgrade() -> None:
    op.create_table('episode_flag_date',
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('flagged_from', sa.Date(), nullable=True),
    sa.Column('unsigned_surgery_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['episode_id'], ['episode.id'], name=op.f('fk_episode_flag_date_episode_id_episode')),
    sa.PrimaryKeyConstraint('episode_id', name=op.f('pk_episode_flag_date'))
    )
    with op.batch_alter_table('episode_flag_date', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episode_flag_date_flagged_from'), ['flagged_from'], unique=False)
        batch_op.create_index(batch_op.f('ix_episode_flag_date_unsigned_surgery_on'), ['unsigned_surgery_on'], unique=False)

    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('outstanding', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(
            'ix_checklist_item_outstanding', ['due_date', 'phase', 'role', 'required', 'id'], unique=False,
            sqlite_where=_SQLITE_OUTSTANDING, postgresql_where=_PG_OUTSTANDING,
        )
        batch_op.create_index(
            'ix_checklist_item_outstanding_episode', ['episode_id', 'due_date'], unique=False,
            sqlite_where=_SQLITE_OUTSTANDING, postgresql_where=_PG_OUTSTANDING,
        )
    _backfill_completed_on()
    _backfill_outstanding()


def downgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_checklist_item_outstanding_episode', sqlite_where=_SQLITE_OUTSTANDING,
            postgresql_where=_PG_OUTSTANDING,
        )
        batch_op.drop_index(
            'ix_checklist_item_outstanding', sqlite_where=_SQLITE_OUTSTANDING, postgresql_where=_PG_OUTSTANDING
        )
        batch_op.drop_column('outstanding')
        batch_op.drop_column('completed_on')

    with op.batch_alter_table('episode_flag_date', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_episode_flag_date_unsigned_surgery_on'))
        batch_op.drop_index(batch_op.f('ix_episode_flag_date_flagged_from'))
    op.drop_table('episode_flag_date')
