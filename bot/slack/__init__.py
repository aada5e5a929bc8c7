"""Slack plumbing every command family and notification shares: the Bolt app and its Web API client, the
middleware (application context, who may), deliveries, sealed metadata and modal state, Block Kit builders,
mrkdwn escaping, ids, what /slack/events accepts, replies after a modal."""
