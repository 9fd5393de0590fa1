"""The dlt side of a run: one resource per object from module-level generators, how each table
is written, the sync log, and what the warehouse already holds."""
