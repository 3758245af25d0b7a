"""one-time form tokens, second factor (TOTP) and recovery codes

`form_submission` keeps each used one-time form token with the answer given, so a repeat of
the very same submission is answered as before and changes nothing. `user_account` gains the
TOTP secret, its enrolment time and the last time step accepted; `recovery_code` holds the
hashed one-time recovery codes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('form_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_form_submission_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_submission')),
    sa.UniqueConstraint('token', name=op.f('uq_form_submission_token'))
    )
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submission_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_submission_user_id'), ['user_id'], unique=False)

    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recovery_code_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enrolled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enrolled_at')
        batch_op.drop_column('totp_secret')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_submission_user_id'))
        batch_op.drop_index(batch_op.f('ix_form_submission_created_at'))
    op.drop_table('form_submission')
