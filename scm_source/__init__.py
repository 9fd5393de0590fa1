"""Huawei Cloud SSL Certificate Manager (SCM) as a dlt source."""

from scm_source.errors import (
    ScmAccountsFailed,
    ScmApiError,
    ScmConfigError,
    ScmError,
    ScmResponseError,
)
from scm_source.source import scm_source
from scm_source.warehouse.finish import ScmPipelineBusy, finish, load

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
