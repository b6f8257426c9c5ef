"""Chip challenges: Active Authentication nonces shared by every API replica.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chip_challenges",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_chip_challenges"),
    )
    op.create_index("ix_chip_challenges_expires_at", "chip_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_chip_challenges_expires_at", table_name="chip_challenges")
    op.drop_table("chip_challenges")
