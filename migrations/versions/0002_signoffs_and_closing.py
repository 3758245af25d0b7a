"""sign-offs, episode closing, signature lockout, temporary passwords

At most one active (unrevoked) sign-off per episode phase: a partial unique index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:49:32.690513
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signoff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.Enum('before', 'during', 'after', name='phase', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('signer_name', sa.String(length=120), nullable=False),
    sa.Column('signer_role', sa.Enum('surgeon', 'anaesthetist', 'nurse', 'therapist', 'coordinator', 'admin', name='role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('meaning', sa.String(length=120), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['episode_id'], ['episode.id'], name=op.f('fk_signoff_episode_id_episode')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user_account.id'], name=op.f('fk_signoff_revoked_by_id_user_account')),
    sa.ForeignKeyConstraint(['signer_id'], ['user_account.id'], name=op.f('fk_signoff_signer_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signoff'))
    )
    with op.batch_alter_table('signoff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signoff_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signoff_revoked_by_id'), ['revoked_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signoff_signer_id'), ['signer_id'], unique=False)
        batch_op.create_index('uq_signoff_active_phase', ['episode_id', 'phase'], unique=True, sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('close_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_episode_closed_by_id'), ['closed_by_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_episode_closed_by_id_user_account'), 'user_account', ['closed_by_id'], ['id'])

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('signature_locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false())
        )



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('signature_locked_until')
        batch_op.drop_column('signature_failures')

    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_episode_closed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_episode_closed_by_id'))
        batch_op.drop_column('close_reason')
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('closed_at')

    with op.batch_alter_table('signoff', schema=None) as batch_op:
        batch_op.drop_index('uq_signoff_active_phase', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_signoff_signer_id'))
        batch_op.drop_index(batch_op.f('ix_signoff_revoked_by_id'))
        batch_op.drop_index(batch_op.f('ix_signoff_episode_id'))

    op.drop_table('signoff')
