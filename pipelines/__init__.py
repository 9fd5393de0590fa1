"""The runnable side of scm-export, installed as the `scm_export` package: the `scm-export`
command and its report. The plain dlt script `scm_pipeline.py` lives beside them."""

import os

# Arrow's default allocator (mimalloc) keeps what the extract freed, some 45 MB at 20,000 rows,
# which then sits under DuckDB's load and raises the run's peak; the system allocator gives it
# back. Arrow reads this once, when it loads: so here, before anything of ours imports it.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
# The command's defaults hold wherever it runs (not only where .dlt/config.toml is read); an
# environment variable set by the user still wins.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
