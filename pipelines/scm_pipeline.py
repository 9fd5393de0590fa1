"""The plain dlt pipeline script: what `dlt deploy` reads and a scheduled job runs
(`python pipelines/scm_pipeline.py`); `scm-export run` does the same load.

Settings come from .dlt/config.toml, .dlt/secrets.toml and SOURCES__SCM_SOURCE__* variables;
the destination from DESTINATION__* variables or the `destination` below. `scm_source.load`
runs it as the command does: views installed, and a failed account fails the job (exit 1).
"""

import sys

import dlt

from scm_source import ScmError, load, scm_source

if __name__ == "__main__":
    pipeline = dlt.pipeline(pipeline_name="scm_export", destination="duckdb", dataset_name="scm")
    try:
        print(load(pipeline, scm_source()))
    except ScmError as error:
        sys.exit(f"scm_pipeline: error: {error}")
