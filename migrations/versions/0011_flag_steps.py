"""flag steps: a protocol step may declare the flag its recorded value raises

Clinical rules version 2, section 4: "Still on opioids at 3 months" is raised by the value of
the protocol's 3-month opioid step. The protocol says which step raises which flag
(`raises: {flag: still_on_opioids, above: 0}`), stored as JSON in `protocol_step.raises`
(app.domain.step_options.Raises); no rule names a step code. Published versions are not
changed: their steps raise no flag.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raises', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        batch_op.drop_column('raises')
