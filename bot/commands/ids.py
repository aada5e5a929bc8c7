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


# --- S-OPS2: /seats config and App Home --------------------------------------------------------------

class ConfigId(StrEnum):
    """The config modal. Per-system fields use `config_field_block(system, name)` (bot.commands.config_view)."""

    CALLBACK = "seats_config"
    MARKETPLACE_BLOCK = "seats_config_marketplace"
    MARKETPLACE = "seats_config_marketplace_pick"
    PSA_BLOCK = "seats_config_psa"
    PSA = "seats_config_psa_pick"
    TEST_MARKETPLACE = "seats_config_test_marketplace"
    TEST_PSA = "seats_config_test_psa"
    ALERTS_CHANNEL_BLOCK = "seats_config_alerts_channel"
    CHECKLIST_CHANNEL_BLOCK = "seats_config_checklist_channel"
    TEAM_USERS_BLOCK = "seats_config_team_users"
    TEAM_GROUP_BLOCK = "seats_config_team_group"
    POLL_MINUTES_BLOCK = "seats_config_poll_minutes"
    CHECKLIST_DAYS_BLOCK = "seats_config_checklist_days"
    DIGEST_HOUR_BLOCK = "seats_config_digest_hour"
    TIMEZONE_BLOCK = "seats_config_timezone"
    VALUE = "value"  # the action_id of every single-element input


class HomeId(StrEnum):
    SYNC = "seats_home_sync"
    DRY_RUN = "seats_home_dry_run"
    CHECKLIST = "seats_home_checklist"
    REPORTS = "seats_home_reports"
    LINK = "seats_home_link"
    CONFIG = "seats_home_config"
    SHORTCUTS_BLOCK = "seats_home_shortcuts"
    COUNTS_BLOCK = "seats_home_counts"


# --- S-OPS1: /seats report, /seats checklist, failure alerts -----------------------------------------

class ReportId(StrEnum):
    LINK_CSV = "seats_report_link_csv"  # url buttons: Slack still sends a block_actions, acked and ignored
    LINK_XLSX = "seats_report_link_xlsx"
    LINK_HTML = "seats_report_link_html"
    COUNTS_BLOCK = "seats_report_counts"
    ROWS_BLOCK = "seats_report_rows"
    CUSTOMERS_BLOCK = "seats_report_customers"
    LINKS_BLOCK = "seats_report_links"


class ChecklistId(StrEnum):
    UNLINKED_BLOCK = "seats_checklist_unlinked"
    CREATE_BLOCK = "seats_checklist_create"
    CONFIRM_BLOCK = "seats_checklist_confirm"
    FAILURES_BLOCK = "seats_checklist_failures"
    ACTIONS_BLOCK = "seats_checklist_actions"
    OPEN_UNLINKED = "seats_checklist_open_unlinked"  # url buttons
    OPEN_LINKED = "seats_checklist_open_linked"
    OPEN_ADJUSTMENTS = "seats_checklist_open_adjustments"
    OPEN_FAILURES = "seats_checklist_open_failures"
    RELATIONS = "seats_checklist_relations"
    RETRY_FAILURES = "seats_checklist_retry_failures"


class AlertId(StrEnum):
    RETRY_NOW = "seats_alert_retry_now"  # value: the failure cause's key
    OPEN_FAILURE_LOG = "seats_alert_open_failure_log"  # url button
    SUMMARY_BLOCK = "seats_alert_summary"
    ACTIONS_BLOCK = "seats_alert_actions"
