"""App Home: the dashboard, its shortcuts, and its refresh after a sync."""
