"""The runnable side of scm-export: the dlt pipeline script and the `scm-export` command."""

import os

# Arrow's default allocator (mimalloc) keeps what the extract freed, some 45 MB at 20,000 rows,
# which then sits under DuckDB's load and raises the run's peak; the system allocator gives it
# back. Arrow reads this once, when it loads: so here, before anything of ours imports it.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
