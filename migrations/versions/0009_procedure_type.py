"""procedure type: episodes say what kind of operation they are for, items hold their plan

Clinical rules version 2 let a protocol step differ by procedure type (Discectomy,
Decompression, Fusion, Other). `episode.procedure_type` records it; existing episodes are
"other". A sessions item now holds the plan it is held to (`session_count`,
`sessions_from_days`, `sessions_until_days`: its step's, with the variant for the episode's
procedure type applied), copied from the step here for the items that exist.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROCEDURES = ('discectomy', 'decompression', 'fusion', 'other')


def upgrade() -> None:
    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'procedure_type',
            sa.Enum(*_PROCEDURES, name='procedure', native_enum=False, length=20, create_constraint=True),
            server_default='other', nullable=False,
        ))
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sessions_from_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sessions_until_days', sa.Integer(), nullable=True))
    for column in ('session_count', 'sessions_from_days', 'sessions_until_days'):
        op.execute(
            f"UPDATE checklist_item SET {column} = "
            f"(SELECT s.{column} FROM protocol_step s WHERE s.id = checklist_item.step_id) "
            "WHERE step_id IN (SELECT id FROM protocol_step WHERE kind = 'sessions')"
        )


def downgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        for column in ('sessions_until_days', 'sessions_from_days', 'session_count'):
            batch_op.drop_column(column)
    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_episode_procedure'), type_='check')
        batch_op.drop_column('procedure_type')
