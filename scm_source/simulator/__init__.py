"""A local SCM that serves the two list endpoints as documented; see server.py, gateway.py
and dataset.py."""

from scm_source.simulator.dataset import CertificateRecord, Dataset
from scm_source.simulator.gateway import AccessKey, IamUser
from scm_source.simulator.organization import Member, Organization
from scm_source.simulator.server import (
    DEFAULT_TOKEN,
    Faults,
    LoggedRequest,
    Simulator,
    SimulatorOptions,
)

__all__ = [
    "DEFAULT_TOKEN",
    "AccessKey",
    "CertificateRecord",
    "Dataset",
    "Faults",
    "IamUser",
    "LoggedRequest",
    "Member",
    "Organization",
    "Simulator",
    "SimulatorOptions",
]
