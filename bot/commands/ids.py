"""Every action_id / block_id / callback_id the Slack commands use, in one place."""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    HELP_SYNC = "seats_help_sync"
    HELP_SYNC_DRY_RUN = "seats_help_sync_dry_run"


class BlockId(StrEnum):
    HELP_COMMANDS = "seats_help_commands"
    HELP_ACTIONS = "seats_help_actions"
    SYNC_SUMMARY = "seats_sync_summary"
    SYNC_CHANGES = "seats_sync_changes"
