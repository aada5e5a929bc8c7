"""`/seats link` (the wizard and its pickers) and `/seats unlink`."""
