"""The plain dlt pipeline script: what `dlt deploy` reads and a scheduled job runs
(`python pipelines/scm_pipeline.py`).

Settings come from .dlt/config.toml, .dlt/secrets.toml and SOURCES__SCM_SOURCE__* variables;
the destination from DESTINATION__* variables or the `destination` below. The literal
`dlt.pipeline(...)` call is what `dlt deploy` reads; the run itself is `scm-export run` with this
pipeline's name, dataset and destination: the same DuckDB file and bounds, summary, one-line
errors and exit codes (1 when an account failed, after the others loaded).
"""

import sys

import dlt

# pipelines/ installs as scm_export through a package-dir mapping mypy cannot follow; mypy checks
# that module as pipelines/cli.py.
from scm_export.cli import run_script  # type: ignore[import-not-found]

if __name__ == "__main__":
    pipeline = dlt.pipeline(pipeline_name="scm_export", destination="duckdb", dataset_name="scm")
    sys.exit(run_script(pipeline))
