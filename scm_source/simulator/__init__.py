"""A local SCM that serves its endpoints as documented, on loopback: the HTTP side (server.py),
the gateway's and IAM's checks (gateway.py), an organization (organization.py), and one module
per object of the registry with its data and listing, composed into an account's inventory
(dataset.py). The connector never imports it; it imports the connector's declarations."""

from scm_source.simulator.certificates import CertificateRecord
from scm_source.simulator.dataset import Dataset
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
