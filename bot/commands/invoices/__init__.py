"""The month-end invoice check in Slack: its message\x27s buttons, the ignore modal, files shared with the bot."""
