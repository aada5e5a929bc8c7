"""What Slack, the web and the CLI share: the queries shaped for a screen and the flows behind them (bulk
relations, link choices, policy scopes, App Home's dashboard and viewers, configuration, the links CSV, health
counts). Handlers parse and render; these read and write through `bot.db` (models and repositories)."""
