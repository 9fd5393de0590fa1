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
# dlt logs every retried or failed load job with its traceback (hundreds of lines when the
# warehouse goes away mid-load); the command reports a failure in one line instead. `-v` (or
# RUNTIME__LOG_LEVEL) brings dlt's log back.
os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
