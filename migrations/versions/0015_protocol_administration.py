"""protocol administration: drafts, publication, retirement; protocols meant for procedure types

A clinical lead edits protocols in the app. `protocol_version` gains its life (`status`: draft,
published, retired; existing versions are published), the version a draft started from, who
made it, the e-signature of publication with the changes approved, the retirement, and a lock
version for the draft's edits; a draft has no number until it is published. A protocol says the
procedure types it is meant for (`protocol_template.procedure_types`; the shipped lumbar one is
meant for every lumbar type). An admin grants protocol editing to a surgeon
(`user_account.edits_protocols`). Episodes may be for an anterior cervical discectomy and
fusion (procedure type `acdf`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_PROCEDURES = ('discectomy', 'decompression', 'fusion', 'other')
_PROCEDURES = (*_OLD_PROCEDURES, 'acdf')
_STATUSES = ('draft', 'published', 'retired')
_LUMBAR = ['discectomy', 'decompression', 'fusion', 'other']


def _procedure_type(values) -> sa.Enum:
    return sa.Enum(*values, name='procedure', native_enum=False, length=20, create_constraint=True)


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edits_protocols', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('protocol_template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('procedure_types', sa.JSON(), nullable=True))
    template = sa.table('protocol_template', sa.column('slug', sa.String), sa.column('procedure_types', sa.JSON))
    op.get_bind().execute(template.update().where(template.c.slug == 'lumbar-fbss').values(procedure_types=_LUMBAR))
    with op.batch_alter_table('protocol_version', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column(
            'status',
            sa.Enum(*_STATUSES, name='versionstatus', native_enum=False, length=20, create_constraint=True),
            server_default='published', nullable=False,
        ))
        batch_op.add_column(sa.Column('based_on_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('changes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retired_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('lock_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_foreign_key(
            batch_op.f('fk_protocol_version_based_on_id_protocol_version'), 'protocol_version', ['based_on_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_protocol_version_created_by_id_user_account'), 'user_account', ['created_by_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_protocol_version_published_by_id_user_account'), 'user_account', ['published_by_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_protocol_version_retired_by_id_user_account'), 'user_account', ['retired_by_id'], ['id']
        )
    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.alter_column(
            'procedure_type', existing_type=_procedure_type(_OLD_PROCEDURES), type_=_procedure_type(_PROCEDURES),
            existing_nullable=False, existing_server_default='other',
        )


def downgrade() -> None:
    episode = sa.table('episode', sa.column('procedure_type', sa.String))
    op.get_bind().execute(episode.update().where(episode.c.procedure_type == 'acdf').values(procedure_type='other'))
    with op.batch_alter_table('episode', schema=None) as batch_op:
        batch_op.alter_column(
            'procedure_type', existing_type=_procedure_type(_PROCEDURES), type_=_procedure_type(_OLD_PROCEDURES),
            existing_nullable=False, existing_server_default='other',
        )
    version = sa.table('protocol_version', sa.column('status', sa.String), sa.column('id', sa.Integer))
    op.get_bind().execute(
        sa.text(
            "DELETE FROM protocol_step WHERE version_id IN (SELECT id FROM protocol_version WHERE status = 'draft')"
        )
    )
    op.get_bind().execute(version.delete().where(version.c.status == 'draft'))
    with op.batch_alter_table('protocol_version', schema=None) as batch_op:
        for name in ('based_on_id', 'created_by_id', 'published_by_id', 'retired_by_id'):
            referred = 'protocol_version' if name == 'based_on_id' else 'user_account'
            batch_op.drop_constraint(batch_op.f(f'fk_protocol_version_{name}_{referred}'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_protocol_version_versionstatus'), type_='check')
        for name in (
            'lock_version', 'retired_by_id', 'retired_at', 'changes', 'published_by_id', 'published_at',
            'created_by_id', 'based_on_id', 'status',
        ):
            batch_op.drop_column(name)
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('protocol_template', schema=None) as batch_op:
        batch_op.drop_column('procedure_types')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('edits_protocols')
