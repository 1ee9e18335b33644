"""contraindications: conditions, medicines, synonyms and sources

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_table(
        "conditions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('condition', 'medicine')", name=op.f("ck_conditions_kind")
        ),
        sa.CheckConstraint(
            "level IN ('contraindicated', 'caution', 'not_recommended')",
            name=op.f("ck_conditions_level"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conditions")),
        sa.UniqueConstraint("key", name=op.f("uq_conditions_key")),
    )
    op.create_table(
        "condition_sources",
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["conditions.id"],
            name=op.f("fk_condition_sources_condition_id_conditions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_condition_sources_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("condition_id", "source_id", name=op.f("pk_condition_sources")),
    )
    op.create_table(
        "condition_synonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("condition_id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["condition_id"],
            ["conditions.id"],
            name=op.f("fk_condition_synonyms_condition_id_conditions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_condition_synonyms")),
        sa.UniqueConstraint("phrase", name=op.f("uq_condition_synonyms_phrase")),
    )
    op.create_index(
        op.f("ix_condition_synonyms_condition_id"),
        "condition_synonyms",
        ["condition_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_condition_synonyms_condition_id"), table_name="condition_synonyms")
    op.drop_table("condition_synonyms")
    op.drop_table("condition_sources")
    op.drop_table("conditions")
    op.drop_table("sources")
