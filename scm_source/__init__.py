"""Huawei Cloud SSL Certificate Manager (SCM) as a dlt source."""

from scm_source.errors import (
    ScmAccountsFailed,
    ScmApiError,
    ScmConfigError,
    ScmError,
    ScmResponseError,
)
from scm_source.runs import ScmPipelineBusy, finish, load
from scm_source.source import scm_source

__all__ = [
    "ScmAccountsFailed",
    "ScmApiError",
    "ScmConfigError",
    "ScmError",
    "ScmPipelineBusy",
    "ScmResponseError",
    "finish",
    "load",
    "scm_source",
]
