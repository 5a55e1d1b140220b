"""Teams: named groups of users (admins manage them) that a project can be shared with.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "email", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_email"), "team_members", ["email"])
    op.create_table(
        "project_team_shares",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_project_team_shares_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_project_team_shares_team_id_teams"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "team_id", name=op.f("pk_project_team_shares")),
    )
    op.create_index(op.f("ix_project_team_shares_team_id"), "project_team_shares", ["team_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_project_team_shares_team_id"), table_name="project_team_shares")
    op.drop_table("project_team_shares")
    op.drop_index(op.f("ix_team_members_email"), table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
