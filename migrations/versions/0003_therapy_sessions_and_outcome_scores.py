"""therapy sessions and outcome scores

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:19:23.117526
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outcome_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('time_point', sa.Enum('baseline', '6w', '3m', '6m', '12m', name='timepoint', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('instrument', sa.Enum('odi', 'nrs_back', 'nrs_leg', name='instrument', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episode.id'], name=op.f('fk_outcome_score_episode_id_episode')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_outcome_score_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_score')),
    sa.UniqueConstraint('episode_id', 'time_point', 'instrument', name=op.f('uq_outcome_score_episode_id'))
    )
    with op.batch_alter_table('outcome_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outcome_score_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outcome_score_recorded_by_id'), ['recorded_by_id'], unique=False)

    op.create_table('therapy_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('session_date', sa.Date(), nullable=False),
    sa.Column('discipline', sa.Enum('PT', 'OT', name='discipline', native_enum=False, create_constraint=True, length=4), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('attendance', sa.Enum('attended', 'missed', 'cancelled_by_patient', 'cancelled_by_clinic', name='attendance', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('pain_before', sa.Integer(), nullable=True),
    sa.Column('pain_after', sa.Integer(), nullable=True),
    sa.Column('activities', sa.Text(), nullable=False),
    sa.Column('home_exercise_plan', sa.Boolean(), nullable=False),
    sa.Column('prehabilitation', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episode.id'], name=op.f('fk_therapy_session_episode_id_episode')),
    sa.ForeignKeyConstraint(['therapist_id'], ['user_account.id'], name=op.f('fk_therapy_session_therapist_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_therapy_session'))
    )
    with op.batch_alter_table('therapy_session', schema=None) as batch_op:
        batch_op.create_index('ix_therapy_session_episode_date', ['episode_id', 'session_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_therapy_session_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_therapy_session_therapist_id'), ['therapist_id'], unique=False)

    op.create_table('session_addendum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_session_addendum_author_id_user_account')),
    sa.ForeignKeyConstraint(['session_id'], ['therapy_session.id'], name=op.f('fk_session_addendum_session_id_therapy_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_addendum'))
    )
    with op.batch_alter_table('session_addendum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_addendum_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_addendum_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sessions_from_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome_time_point', sa.Enum('baseline', '6w', '3m', '6m', '12m', name='timepoint', native_enum=False, create_constraint=True, length=20), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_protocol_step_timepoint'), type_='check')
        batch_op.drop_column('outcome_time_point')
        batch_op.drop_column('sessions_from_days')

    with op.batch_alter_table('session_addendum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_addendum_session_id'))
        batch_op.drop_index(batch_op.f('ix_session_addendum_author_id'))

    op.drop_table('session_addendum')
    with op.batch_alter_table('therapy_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_therapy_session_therapist_id'))
        batch_op.drop_index(batch_op.f('ix_therapy_session_episode_id'))
        batch_op.drop_index('ix_therapy_session_episode_date')

    op.drop_table('therapy_session')
    with op.batch_alter_table('outcome_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outcome_score_recorded_by_id'))
        batch_op.drop_index(batch_op.f('ix_outcome_score_episode_id'))

    op.drop_table('outcome_score')
