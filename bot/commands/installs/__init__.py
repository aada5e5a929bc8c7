"""Slack telling SeatSync it was uninstalled, or that its tokens were revoked (multi-workspace mode)."""
