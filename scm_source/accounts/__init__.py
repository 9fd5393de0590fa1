"""The accounts a run reads: configured, or an organization's; their clients; how many at once."""
