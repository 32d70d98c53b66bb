"""approval: decisions are append-only

Revision ID: approval_0002
Revises: approval_0001
Create Date: 2026-11-24 20:02:06.865526
"""

from collections.abc import Sequence

from alembic import op


revision: str = 'approval_0002'
down_revision: str | Sequence[str] | None = 'approval_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Signed decisions are history: the database refuses to change them. On PostgreSQL UPDATE and DELETE
# are refused (TRUNCATE, a deliberate administrative act, is not a row operation). On SQLite UPDATE is
# refused; DELETE stays possible there so that an embedded site can still be wiped. Signatures catch
# whatever a database owner does anyway (``erp check``).

PG_UP = """
CREATE FUNCTION approval_decision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'approval_decision is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER approval_decision_append_only BEFORE UPDATE OR DELETE ON approval_decision
    FOR EACH ROW EXECUTE FUNCTION approval_decision_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS approval_decision_append_only ON approval_decision;
DROP FUNCTION IF EXISTS approval_decision_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER approval_decision_append_only BEFORE UPDATE ON approval_decision
BEGIN
    SELECT RAISE(ABORT, 'approval_decision is append-only: UPDATE refused');
END
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS approval_decision_append_only"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_UP)
    elif dialect == "sqlite":
        op.execute(SQLITE_UP)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_DOWN)
    elif dialect == "sqlite":
        op.execute(SQLITE_DOWN)
