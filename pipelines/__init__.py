"""The runnable side of scm-export: the dlt pipeline script and the `scm-export` command."""
