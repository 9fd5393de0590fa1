"""After the load: finishing a run (lock, stale packages, views, failed accounts), the views,
and what differs between warehouses."""
