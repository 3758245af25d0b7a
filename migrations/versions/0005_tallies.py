"""tallies: outstanding items per due date and kind of item, episodes per pair of flag dates

`outstanding_tally`: how many outstanding items share a due date, phase, role and required flag.
The dashboard's counts per state (and its page count) sum these few rows instead of counting
every outstanding item. `flag_date_tally`: how many episodes share a pair of stored flag dates
(`episode_flag_date`); the navigation bar's count of flagged episodes sums the pairs flagged
today. Both take about as long with 50,000 patients as with 5,000.

Database triggers keep the tallies: every insert, update or delete of a row that is (or was)
counted moves its count, whoever writes it (the ORM, a Core UPDATE, a bulk load).
SQLite drops a table's triggers with the table: a later migration that rebuilds
`checklist_item` or `episode_flag_date` (Alembic batch mode) must create them again
(`OUTSTANDING.create_triggers()`, `FLAGGED.create_triggers()`).

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


class Tally:
    """A table of counts kept by triggers on a source table: one row per distinct key among the
    source rows that `counted` holds for, with how many there are (`count_column`)."""

    def __init__(
        self, table: str, source: str, key: tuple[str, ...], counted: str, reads: tuple[str, ...], count_column: str
    ):
        self.table, self.source, self.key = table, source, key
        self.counted, self.count_column = counted, count_column
        self.watched = ", ".join(dict.fromkeys((*key, *reads)))  # the columns whose change moves a count

    def _is(self, row: str, same: str) -> str:
        return " AND ".join(f"{c} {same} {row}.{c}" for c in self.key)

    def _unchanged(self, same: str) -> str:
        return " AND ".join(
            [f"({self.counted.format(r='OLD')}) = ({self.counted.format(r='NEW')})"]
            + [f"OLD.{c} {same} NEW.{c}" for c in self.key]
        )

    def sqlite(self) -> list[str]:
        # "IS" matches a missing value (NULL) too; SQLite writers run one at a time.
        n, cols = self.count_column, ", ".join(self.key)
        add = (
            f"INSERT INTO {self.table} ({cols}, {n}) "
            f"SELECT {', '.join(f'NEW.{c}' for c in self.key)}, 0 WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.table} WHERE {self._is('NEW', 'IS')}); "
            f"UPDATE {self.table} SET {n} = {n} + 1 WHERE {self._is('NEW', 'IS')};"
        )
        remove = (
            f"UPDATE {self.table} SET {n} = {n} - 1 WHERE {self._is('OLD', 'IS')}; "
            f"DELETE FROM {self.table} WHERE {n} <= 0 AND {self._is('OLD', 'IS')};"
        )
        old, new, keep = self.counted.format(r="OLD"), self.counted.format(r="NEW"), self._unchanged("IS")
        on_update = f"AFTER UPDATE OF {self.watched} ON {self.source}"
        return [
            f"CREATE TRIGGER {self.table}_insert AFTER INSERT ON {self.source} WHEN {new} BEGIN {add} END",
            f"CREATE TRIGGER {self.table}_delete AFTER DELETE ON {self.source} WHEN {old} BEGIN {remove} END",
            f"CREATE TRIGGER {self.table}_leave {on_update} WHEN {old} AND NOT ({keep}) BEGIN {remove} END",
            f"CREATE TRIGGER {self.table}_enter {on_update} WHEN {new} AND NOT ({keep}) BEGIN {add} END",
        ]

    def postgres(self) -> list[str]:
        # Writers of a tally take the advisory lock that orders the audit chain (app/audit.py,
        # the same key), so two transactions never wait for each other's tally rows in opposite
        # orders.
        n, cols = self.count_column, ", ".join(self.key)
        old, new = self.counted.format(r="OLD"), self.counted.format(r="NEW")
        return [
            f"""CREATE FUNCTION {self.table}_keep() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND {self._unchanged('IS NOT DISTINCT FROM')} THEN
                RETURN NULL;
              END IF;
              IF (TG_OP <> 'INSERT' AND {old}) OR (TG_OP <> 'DELETE' AND {new}) THEN
                PERFORM pg_advisory_xact_lock(7351004);
              END IF;
              IF TG_OP <> 'INSERT' AND {old} THEN
                UPDATE {self.table} SET {n} = {n} - 1 WHERE {self._is('OLD', 'IS NOT DISTINCT FROM')};
                DELETE FROM {self.table} WHERE {n} <= 0 AND {self._is('OLD', 'IS NOT DISTINCT FROM')};
              END IF;
              IF TG_OP <> 'DELETE' AND {new} THEN
                INSERT INTO {self.table} ({cols}, {n})
                  VALUES ({', '.join(f'NEW.{c}' for c in self.key)}, 1)
                  ON CONFLICT ({cols}) DO UPDATE SET {n} = {self.table}.{n} + 1;
              END IF;
              RETURN NULL;
            END; $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER {self.table}_keep
            AFTER INSERT OR DELETE OR UPDATE OF {self.watched} ON {self.source}
            FOR EACH ROW EXECUTE FUNCTION {self.table}_keep()""",
        ]

    def fill(self) -> str:
        cols = ", ".join(self.key)
        return (
            f"INSERT INTO {self.table} ({cols}, {self.count_column}) "
            f"SELECT {cols}, count(*) FROM {self.source} WHERE {self.counted.format(r=self.source)} "
            f"GROUP BY {cols}"
        )

    def create_triggers(self) -> None:
        postgres = op.get_bind().dialect.name == 'postgresql'
        for statement in self.postgres() if postgres else self.sqlite():
            op.execute(statement)

    def drop_triggers(self) -> None:
        if op.get_bind().dialect.name == 'postgresql':
            op.execute(f'DROP TRIGGER IF EXISTS {self.table}_keep ON {self.source}')
            op.execute(f'DROP FUNCTION IF EXISTS {self.table}_keep()')
        else:
            for name in ('insert', 'delete', 'leave', 'enter'):
                op.execute(f'DROP TRIGGER IF EXISTS {self.table}_{name}')


# Outstanding items per due date and kind of item: the dashboard's counts per state.
OUTSTANDING = Tally(
    'outstanding_tally', 'checklist_item', ('due_date', 'phase', 'role', 'required'),
    '{r}.outstanding', ('outstanding',), 'items',
)
# Episodes per pair of stored flag dates (the pairs are few: days, not episodes): the count of
# flagged episodes in the navigation bar, whatever the number of episodes.
FLAGGED = Tally(
    'flag_date_tally', 'episode_flag_date', ('flagged_from', 'unsigned_surgery_on'),
    '({r}.flagged_from IS NOT NULL OR {r}.unsigned_surgery_on IS NOT NULL)', (), 'episodes',
)


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
    op.create_table('flag_date_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flagged_from', sa.Date(), nullable=True),
    sa.Column('unsigned_surgery_on', sa.Date(), nullable=True),
    sa.Column('episodes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_date_tally'))
    )
    with op.batch_alter_table('flag_date_tally', schema=None) as batch_op:
        batch_op.create_index(
            'ix_flag_date_tally_key', ['flagged_from', 'unsigned_surgery_on'], unique=True,
            postgresql_nulls_not_distinct=True,
        )
    for tally in (OUTSTANDING, FLAGGED):
        op.execute(tally.fill())
        tally.create_triggers()


def downgrade() -> None:
    for tally in (FLAGGED, OUTSTANDING):
        tally.drop_triggers()
    with op.batch_alter_table('flag_date_tally', schema=None) as batch_op:
        batch_op.drop_index('ix_flag_date_tally_key')
    op.drop_table('flag_date_tally')
    with op.batch_alter_table('outstanding_tally', schema=None) as batch_op:
        batch_op.drop_index('ix_outstanding_tally_key')
    op.drop_table('outstanding_tally')
