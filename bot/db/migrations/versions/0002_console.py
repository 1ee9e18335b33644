"""console: staff accounts, audit log, conversation index, corrections, training runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:01:05.724189
"""
from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_audit_log'))
    )
    with op.batch_alter_table('console_audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_audit_log_at'), ['at'], unique=False)

    op.create_table('console_conversations',
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('min_confidence', sa.Float(), nullable=True),
    sa.Column('fallback', sa.Boolean(), nullable=False),
    sa.Column('crisis', sa.Boolean(), nullable=False),
    sa.Column('contraindication', sa.Boolean(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('sender_id', name=op.f('pk_console_conversations'))
    )
    with op.batch_alter_table('console_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_conversations_last_at'), ['last_at'], unique=False)

    op.create_table('console_faq_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_faq_entries')),
    sa.UniqueConstraint('key', name=op.f('uq_console_faq_entries_key'))
    )
    op.create_table('console_login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_login_attempts'))
    )
    with op.batch_alter_table('console_login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_console_login_attempts_address_at', ['address', 'at'], unique=False)
        batch_op.create_index('ix_console_login_attempts_username_at', ['username', 'at'], unique=False)

    op.create_table('console_messages',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=255), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('entities', sa.JSON(), nullable=False),
    sa.Column('bot_actions', sa.JSON(), nullable=False),
    sa.Column('fallback', sa.Boolean(), nullable=False),
    sa.Column('crisis', sa.Boolean(), nullable=False),
    sa.Column('contraindication', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_console_messages'))
    )
    with op.batch_alter_table('console_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_messages_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_messages_confidence'), ['confidence'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_messages_intent'), ['intent'], unique=False)
        batch_op.create_index('ix_console_messages_sender_at', ['sender_id', 'at'], unique=False)

    op.create_table('console_sync_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_console_sync_state'))
    )
    op.create_table('console_training_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('model_path', sa.Text(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('live_metrics', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('correction_ids', sa.JSON(), nullable=False),
    sa.Column('log', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'training', 'evaluating', 'promoted', 'refused', 'failed')", name=op.f('ck_console_training_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_training_runs'))
    )
    op.create_table('console_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'reviewer')", name=op.f('ck_console_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_users')),
    sa.UniqueConstraint('username', name=op.f('uq_console_users_username'))
    )
    op.create_table('console_answer_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sender_id'], ['console_conversations.sender_id'], name=op.f('fk_console_answer_flags_sender_id_console_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_answer_flags'))
    )
    with op.batch_alter_table('console_answer_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_answer_flags_sender_id'), ['sender_id'], unique=False)

    op.create_table('console_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('sender_id', sa.String(length=255), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=255), nullable=True),
    sa.Column('faq_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('relabel', 'new_question', 'ignore')", name=op.f('ck_console_corrections_kind')),
    sa.ForeignKeyConstraint(['faq_entry_id'], ['console_faq_entries.id'], name=op.f('fk_console_corrections_faq_entry_id_console_faq_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_corrections'))
    )
    with op.batch_alter_table('console_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_corrections_event_id'), ['event_id'], unique=False)

    op.create_table('console_deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_path', sa.Text(), nullable=False),
    sa.Column('training_run_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('deployed_by', sa.String(length=64), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['training_run_id'], ['console_training_runs.id'], name=op.f('fk_console_deployments_training_run_id_console_training_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_deployments'))
    )
    op.create_table('console_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sender_id'], ['console_conversations.sender_id'], name=op.f('fk_console_tags_sender_id_console_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_tags')),
    sa.UniqueConstraint('sender_id', 'tag', name='uq_console_tags_sender_tag')
    )
    with op.batch_alter_table('console_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_tags_tag'), ['tag'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('console_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_tags_tag'))

    op.drop_table('console_tags')
    op.drop_table('console_deployments')
    with op.batch_alter_table('console_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_corrections_event_id'))

    op.drop_table('console_corrections')
    with op.batch_alter_table('console_answer_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_answer_flags_sender_id'))

    op.drop_table('console_answer_flags')
    op.drop_table('console_users')
    op.drop_table('console_training_runs')
    op.drop_table('console_sync_state')
    with op.batch_alter_table('console_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_console_messages_sender_at')
        batch_op.drop_index(batch_op.f('ix_console_messages_intent'))
        batch_op.drop_index(batch_op.f('ix_console_messages_confidence'))
        batch_op.drop_index(batch_op.f('ix_console_messages_at'))

    op.drop_table('console_messages')
    with op.batch_alter_table('console_login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_console_login_attempts_username_at')
        batch_op.drop_index('ix_console_login_attempts_address_at')

    op.drop_table('console_login_attempts')
    op.drop_table('console_faq_entries')
    with op.batch_alter_table('console_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_conversations_last_at'))

    op.drop_table('console_conversations')
    with op.batch_alter_table('console_audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_console_audit_log_action'))

    op.drop_table('console_audit_log')
