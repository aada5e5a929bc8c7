"""`/seats policy`: the sync policy globally, per company or per relation."""
