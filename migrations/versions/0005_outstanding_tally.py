"""outstanding tally: how many outstanding items share a due date, phase, role and required flag

The dashboard's counts per state (and its page count) sum these few rows instead of counting
every outstanding item, so they take the same time with 5,000 or 50,000 patients. Database
triggers on `checklist_item` keep the tally: every insert, update or delete of an item that is
(or was) outstanding moves its count, whoever writes it (the ORM, a Core UPDATE, a bulk load).

SQLite drops a table's triggers with the table: a later migration that rebuilds
`checklist_item` (Alembic batch mode) must create them again (`create_tally_triggers`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PHASES = ('before', 'during', 'after')
_ROLES = ('surgeon', 'anaesthetist', 'nurse', 'therapist', 'coordinator', 'admin')

# The key of one tally row, for the item's old (OLD) or new (NEW) values; "IS" and
# "IS NOT DISTINCT FROM" match a missing due date (surgery not yet scheduled) too.
_SQLITE_KEY = (
    "due_date IS {r}.due_date AND phase = {r}.phase AND role = {r}.role AND required = {r}.required"
)
_SQLITE_ADD = (
    "INSERT INTO outstanding_tally (due_date, phase, role, required, items) "
    "SELECT NEW.due_date, NEW.phase, NEW.role, NEW.required, 0 WHERE NOT EXISTS "
    f"(SELECT 1 FROM outstanding_tally WHERE {_SQLITE_KEY.format(r='NEW')}); "
    f"UPDATE outstanding_tally SET items = items + 1 WHERE {_SQLITE_KEY.format(r='NEW')};"
)
_SQLITE_REMOVE = (
    f"UPDATE outstanding_tally SET items = items - 1 WHERE {_SQLITE_KEY.format(r='OLD')}; "
    f"DELETE FROM outstanding_tally WHERE items <= 0 AND {_SQLITE_KEY.format(r='OLD')};"
)
_SQLITE_SAME = (
    "OLD.outstanding = NEW.outstanding AND OLD.due_date IS NEW.due_date AND OLD.phase = NEW.phase"
    " AND OLD.role = NEW.role AND OLD.required = NEW.required"
)
TALLY_TRIGGERS_SQLITE = [
    "CREATE TRIGGER checklist_item_tally_insert AFTER INSERT ON checklist_item "
    f"WHEN NEW.outstanding BEGIN {_SQLITE_ADD} END",
    "CREATE TRIGGER checklist_item_tally_delete AFTER DELETE ON checklist_item "
    f"WHEN OLD.outstanding BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER checklist_item_tally_leave AFTER UPDATE OF outstanding, due_date, phase, role, required "
    f"ON checklist_item WHEN OLD.outstanding AND NOT ({_SQLITE_SAME}) BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER checklist_item_tally_enter AFTER UPDATE OF outstanding, due_date, phase, role, required "
    f"ON checklist_item WHEN NEW.outstanding AND NOT ({_SQLITE_SAME}) BEGIN {_SQLITE_ADD} END",
]

# PostgreSQL: writers of the tally take the advisory lock that orders the audit chain
# (app/audit.py, the same key), so two transactions never wait for each other's tally rows
# in opposite orders.
TALLY_TRIGGERS_POSTGRES = [
    """CREATE FUNCTION outstanding_tally_keep() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.outstanding = NEW.outstanding
         AND OLD.due_date IS NOT DISTINCT FROM NEW.due_date AND OLD.phase = NEW.phase
         AND OLD.role = NEW.role AND OLD.required = NEW.required THEN
        RETURN NULL;
      END IF;
      IF (TG_OP <> 'INSERT' AND OLD.outstanding) OR (TG_OP <> 'DELETE' AND NEW.outstanding) THEN
        PERFORM pg_advisory_xact_lock(7351004);
      END IF;
      IF TG_OP <> 'INSERT' AND OLD.outstanding THEN
        UPDATE outstanding_tally SET items = items - 1
          WHERE due_date IS NOT DISTINCT FROM OLD.due_date AND phase = OLD.phase
            AND role = OLD.role AND required = OLD.required;
        DELETE FROM outstanding_tally
          WHERE items <= 0 AND due_date IS NOT DISTINCT FROM OLD.due_date AND phase = OLD.phase
            AND role = OLD.role AND required = OLD.required;
      END IF;
      IF TG_OP <> 'DELETE' AND NEW.outstanding THEN
        INSERT INTO outstanding_tally (due_date, phase, role, required, items)
          VALUES (NEW.due_date, NEW.phase, NEW.role, NEW.required, 1)
          ON CONFLICT (due_date, phase, role, required)
          DO UPDATE SET items = outstanding_tally.items + 1;
      END IF;
      RETURN NULL;
    END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER checklist_item_tally
    AFTER INSERT OR DELETE OR UPDATE OF outstanding, due_date, phase, role, required ON checklist_item
    FOR EACH ROW EXECUTE FUNCTION outstanding_tally_keep()""",
]

FILL_TALLY = (
    "INSERT INTO outstanding_tally (due_date, phase, role, required, items) "
    "SELECT due_date, phase, role, required, count(*) FROM checklist_item "
    "WHERE outstanding GROUP BY due_date, phase, role, required"
)


def create_tally_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for statement in TALLY_TRIGGERS_POSTGRES if dialect == 'postgresql' else TALLY_TRIGGERS_SQLITE:
        op.execute(statement)


def drop_tally_triggers() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS checklist_item_tally ON checklist_item')
        op.execute('DROP FUNCTION IF EXISTS outstanding_tally_keep()')
    else:
        for name in ('insert', 'delete', 'leave', 'enter'):
            op.execute(f'DROP TRIGGER IF EXISTS checklist_item_tally_{name}')


def upgrade() -> None:
    op.create_table('outstanding_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('phase', sa.Enum(*_PHASES, name='phase', native_enum=False, length=20, create_constraint=True), nullable=False),
    sa.Column('role', sa.Enum(*_ROLES, name='role', native_enum=False, length=20, create_constraint=True), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outstanding_tally'))
    )
    with op.batch_alter_table('outstanding_tally', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outstanding_tally_key', ['due_date', 'phase', 'role', 'required'], unique=True,
            postgresql_nulls_not_distinct=True,
        )
    op.execute(FILL_TALLY)
    create_tally_triggers()


def downgrade() -> None:
    drop_tally_triggers()
    with op.batch_alter_table('outstanding_tally', schema=None) as batch_op:
        batch_op.drop_index('ix_outstanding_tally_key')
    op.drop_table('outstanding_tally')
