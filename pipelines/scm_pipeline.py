"""The plain dlt pipeline script: what `dlt deploy` reads and the scheduled job runs
(`python pipelines/scm_pipeline.py`); `scm-export run` does the same load.

Settings come from .dlt/config.toml, .dlt/secrets.toml and SOURCES__SCM_SOURCE__* variables;
the destination from DESTINATION__* variables or the `destination` below.
"""

import dlt

from pipelines.runner import finish, loader_file_format, prepare, progress
from scm_source import scm_source

if __name__ == "__main__":
    pipeline = dlt.pipeline(
        pipeline_name="scm_export", destination="duckdb", dataset_name="scm", progress=progress()
    )
    source = scm_source()
    prepare(pipeline)
    print(
        finish(
            pipeline, source, pipeline.run(source, loader_file_format=loader_file_format(pipeline))
        )
    )
