"""Every action_id / block_id / callback_id the Slack commands use, in one place."""

from __future__ import annotations

from enum import StrEnum, unique


@unique
class SealedFor(StrEnum):
    """What a sealed value (`bot.slack.metadata`) is for: a dialog's private_metadata, or a button's value.
    Part of the MAC, so a value sealed for one is refused by every other; each value appears once."""

    CONFIG = "config"
    HOME = "home"
    APPROVAL_REJECT = "approval_reject"
    APPROVAL_EDIT = "approval_edit"
    LINK_WIZARD = "link"
    LINK_BELOW_COST = "link_below_cost"
    UNLINK_PICK = "unlink"
    UNLINK_CONFIRM = "unlink_confirm"
    UNLINK_BUTTON = "unlink_button"
    RELATIONS = "relations"
    POLICY = "policy"
    INVOICE_FINDING = "invoice_finding"  # a finding's buttons: {"i": invoice id, "k": finding key}
    INVOICE_IGNORE = "invoice_ignore"
    INVOICE_MAPPING = "invoice_mapping"  # the column-mapping modal of a file shared with the bot


class ActionId(StrEnum):
    HELP_SYNC = "seats_help_sync"
    HELP_SYNC_DRY_RUN = "seats_help_sync_dry_run"


class BlockId(StrEnum):
    HELP_COMMANDS = "seats_help_commands"
    HELP_ACTIONS = "seats_help_actions"
    SYNC_SUMMARY = "seats_sync_summary"
    SYNC_CHANGES = "seats_sync_changes"


# --- /seats config and App Home -----------------------------------------------------------------------

class ConfigId(StrEnum):
    """The config modal. Per-system fields use `config_field_block(system, name)` (bot.commands.config.views);
    each input's action_id is its block_id."""

    CALLBACK = "seats_config"
    MARKETPLACE_BLOCK = "seats_config_marketplace"
    MARKETPLACE = "seats_config_marketplace_pick"
    PSA_BLOCK = "seats_config_psa"
    PSA = "seats_config_psa_pick"
    TEST_CONNECTION = "seats_config_test_"  # + the system: each chosen system's button (its block id too)
    ALERTS_CHANNEL_BLOCK = "seats_config_alerts_channel"
    CHECKLIST_CHANNEL_BLOCK = "seats_config_checklist_channel"
    TEAM_USERS_BLOCK = "seats_config_team_users"
    TEAM_GROUP_BLOCK = "seats_config_team_group"
    POLL_MINUTES_BLOCK = "seats_config_poll_minutes"
    CHECKLIST_DAYS_BLOCK = "seats_config_checklist_days"
    DIGEST_HOUR_BLOCK = "seats_config_digest_hour"
    TIMEZONE_BLOCK = "seats_config_timezone"


class HomeId(StrEnum):
    SYNC = "seats_home_sync"
    DRY_RUN = "seats_home_dry_run"
    CHECKLIST = "seats_home_checklist"
    REPORTS = "seats_home_reports"
    LINK = "seats_home_link"
    CONFIG = "seats_home_config"
    SHORTCUTS_BLOCK = "seats_home_shortcuts"
    COUNTS_BLOCK = "seats_home_counts"


# --- /seats report, /seats checklist, failure alerts --------------------------------------------------

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
    PREVIEW_BLOCK = "seats_checklist_preview"
    INVOICE_BLOCK = "seats_checklist_invoice"
    OPEN_INVOICE_CHECK = "seats_checklist_open_invoice_check"
    ACTIONS_BLOCK = "seats_checklist_actions"
    OPEN_UNLINKED = "seats_checklist_open_unlinked"  # url buttons
    OPEN_LINKED = "seats_checklist_open_linked"
    OPEN_ADJUSTMENTS = "seats_checklist_open_adjustments"
    OPEN_FAILURES = "seats_checklist_open_failures"
    RELATIONS = "seats_checklist_relations"
    RETRY_FAILURES = "seats_checklist_retry_failures"
    DIGEST_BLOCK = "seats_digest_summary"


class AlertId(StrEnum):
    RETRY_NOW = "seats_alert_retry_now"  # value: the failure cause's key
    OPEN_FAILURE_LOG = "seats_alert_open_failure_log"  # url button
    SUMMARY_BLOCK = "seats_alert_summary"
    ACTIONS_BLOCK = "seats_alert_actions"


# --- /seats link, unlink, relations -------------------------------------------------------------------

class LinkActionId(StrEnum):
    FILTERS = "seats_link_filters"
    SOURCE = "seats_link_source"  # the marketplace whose companies are offered (with several)
    PICK_COMPANY = "seats_link_pick_company"
    PICK_PSA_COMPANY = "seats_link_pick_psa_company"
    PICK_SUBSCRIPTION = "seats_link_pick_subscription"
    PICK_CONTRACT = "seats_link_pick_contract"
    PICK_RESOURCE = "seats_link_pick_resource"
    PICK_SERVICE = "seats_link_pick_service"
    PRICE_KIND = "seats_link_price_kind"
    MARKUP = "seats_link_markup"
    CUSTOM_PRICE = "seats_link_custom_price"
    CUSTOM_COST = "seats_link_custom_cost"
    UNLINK_PICK = "seats_unlink_pick"
    UNLINK_BUTTON = "seats_unlink_button"
    RELATIONS_MODE = "seats_relations_mode"
    RELATIONS_SOURCE = "seats_relations_source"  # the marketplace whose rows are listed (with several)
    RELATIONS_PREVIOUS = "seats_relations_previous"
    RELATIONS_NEXT = "seats_relations_next"
    RELATIONS_ROWS = "seats_relations_rows"  # + "_<n>": one checkbox group per ten rows


class LinkBlockId(StrEnum):
    FILTERS = "seats_link_filters"
    STEP = "seats_link_step"
    PICK = "seats_link_pick"  # + "_<level>_<revision>": a new id resets the input when the level above changes
    COUNTS = "seats_link_counts"
    PRICE_KIND = "seats_link_price_kind"
    MARKUP = "seats_link_markup"
    CUSTOM_PRICE = "seats_link_custom_price"
    CUSTOM_COST = "seats_link_custom_cost"
    BELOW_COST = "seats_link_below_cost"
    RESULT = "seats_link_result"
    RESULT_ACTIONS = "seats_link_result_actions"
    UNLINK_PICK = "seats_unlink_pick"
    UNLINK_CONFIRM = "seats_unlink_confirm"
    RELATIONS_HEADER = "seats_relations_header"
    RELATIONS_FILTER = "seats_relations_filter"
    RELATIONS_ROWS = "seats_relations_rows"  # + "_<n>"
    RELATIONS_PAGER = "seats_relations_pager"
    RELATIONS_SUMMARY = "seats_relations_summary"
    NOTICE = "seats_link_notice"


class LinkCallbackId(StrEnum):
    WIZARD = "seats_link_wizard"
    BELOW_COST = "seats_link_below_cost"
    UNLINK_PICK = "seats_unlink_pick"
    UNLINK_CONFIRM = "seats_unlink_confirm"
    RELATIONS = "seats_relations"
    REFUSED = "seats_link_refused"


# --- approvals of held changes ------------------------------------------------------------------------

class ApprovalId(StrEnum):
    APPROVE = "seats_approval_approve"  # + ":<adjustment id>" (unique in a message); value: the adjustment id
    REJECT = "seats_approval_reject"
    EDIT = "seats_approval_edit"
    CHANGE_BLOCK = "seats_approval_change"  # + ":<adjustment id>"
    ACTIONS_BLOCK = "seats_approval_actions"  # + ":<adjustment id>"
    REJECT_CALLBACK = "seats_approval_reject_modal"
    EDIT_CALLBACK = "seats_approval_edit_modal"
    REASON_BLOCK = "seats_approval_reason"
    UNITS_BLOCK = "seats_approval_units"
    DATE_BLOCK = "seats_approval_date"
    REASON = "reason"  # the inputs' action_ids (unique within a view)
    UNITS = "units"
    DATE = "date"


# --- /seats policy ------------------------------------------------------------------------------------

class PolicyId(StrEnum):
    """The policy modal. Each field's block_id is `policy_field_block(name, scope key)` and its action_id the
    field's name, so a new scope or company gets fresh inputs (Slack forgets what was typed for another)."""

    CALLBACK = "seats_policy"
    INTRO_BLOCK = "seats_policy_intro"
    SCOPE_BLOCK = "seats_policy_scope"
    SCOPE = "seats_policy_scope_pick"
    COMPANY_BLOCK = "seats_policy_company"
    COMPANY = "seats_policy_company_pick"
    LINK_BLOCK = "seats_policy_link"
    LINK = "seats_policy_link_pick"
    TARGET_BLOCK = "seats_policy_target"
    NOTICE_BLOCK = "seats_policy_notice"


# --- the month-end invoice check (its message, the decisions about findings, files shared with the bot) ---------

class InvoiceId(StrEnum):
    ACCEPT = "seats_invoice_accept"  # + ":<n>" (unique in a message); value: sealed invoice id and finding key
    FIXED = "seats_invoice_fixed"
    IGNORE = "seats_invoice_ignore"
    LINK = "seats_invoice_link"  # the link wizard, pre-filled with an unlinked line
    OPEN_SERVICE = "seats_invoice_open_service"  # url buttons (+ ":<n>")
    OPEN_REPORT = "seats_invoice_open_report"
    SUMMARY_BLOCK = "seats_invoice_summary"
    FINDING_BLOCK = "seats_invoice_finding"  # + ":<n>"
    ACTIONS_BLOCK = "seats_invoice_actions"  # + ":<n>"
    IGNORE_CALLBACK = "seats_invoice_ignore_modal"
    REASON_BLOCK = "seats_invoice_reason"
    REASON = "reason"
    MAPPING_OPEN = "seats_invoice_mapping_open"  # value: sealed file id and conversation
    MAPPING_ACTIONS_BLOCK = "seats_invoice_mapping_actions"
    MAPPING_CALLBACK = "seats_invoice_mapping_modal"
    MAPPING_BLOCK = "seats_invoice_mapping"  # + "_<field>"; each picker's action_id is the field's name
