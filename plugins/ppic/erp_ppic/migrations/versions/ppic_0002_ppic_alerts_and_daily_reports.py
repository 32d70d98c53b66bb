"""ppic: alerts (unique by source, one open per subject) and the stored daily reports

Revision ID: ppic_0002
Revises: ppic_0001
Create Date: 2026-11-24 22:03:18.399801
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kernel.db


revision: str = 'ppic_0002'
down_revision: str | Sequence[str] | None = 'ppic_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ppic_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('escalation_level', sa.String(length=12), nullable=False),
    sa.Column('raised_at', kernel.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('escalated_at', kernel.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', kernel.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=120), nullable=True),
    sa.Column('resolved_at', kernel.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=120), nullable=True),
    sa.Column('resolution', sa.String(length=500), nullable=True),
    sa.CheckConstraint("escalation_level IN ('first_line', 'manager', 'director')", name=op.f('ck_ppic_alert_escalation_level_valid')),
    sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f('ck_ppic_alert_severity_valid')),
    sa.CheckConstraint("status IN ('pending', 'acknowledged', 'resolved')", name=op.f('ck_ppic_alert_status_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ppic_alert')),
    sa.UniqueConstraint('key', name=op.f('uq_ppic_alert_key'))
    )
    op.create_index('ix_ppic_alert_status_severity', 'ppic_alert', ['status', 'severity'], unique=False)
    op.create_index('uq_ppic_alert_open_subject', 'ppic_alert', ['subject'], unique=True, postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"))
    op.create_table('ppic_daily_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_date', sa.Date(), nullable=False),
    sa.Column('scheduled_for', kernel.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('generated_at', kernel.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ppic_daily_report')),
    sa.UniqueConstraint('report_date', name=op.f('uq_ppic_daily_report_report_date'))
    )


def downgrade() -> None:
    op.drop_table('ppic_daily_report')
    op.drop_index('uq_ppic_alert_open_subject', table_name='ppic_alert', postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"))
    op.drop_index('ix_ppic_alert_status_severity', table_name='ppic_alert')
    op.drop_table('ppic_alert')
