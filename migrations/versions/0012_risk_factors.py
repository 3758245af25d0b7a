"""risk factors: a protocol step may declare the pre-operative risk factor its answer shows

Clinical rules version 2, section 8: the pre-operative risk tier counts the risk factors the
patient has (current smoker, HbA1c of 8 % or more, BMI of 35 or more, PHQ-9 of 10 or more, a
pre-operative opioid dose, compensation or litigation, a prior lumbar surgery). Each is declared
by the step whose answer shows it (`protocol_step.risk`, JSON), as protocol data.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('protocol_step', schema=None) as batch_op:
        batch_op.drop_column('risk')
