"""`/seats sync [--dry-run]`, the help message's sync buttons, and *Retry now* on failures."""
