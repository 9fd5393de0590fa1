"""The registry: every object the connector reads, in the order a run starts them (a parent
before its children). The source, the simulator, the views and the command all read it from
here; what one object is lives in its own module."""

from __future__ import annotations

from scm_source.objects import (
    certificate_deployments,
    certificate_details,
    certificate_tags,
    certificates,
    csr,
    private_cas,
    private_certificates,
)
from scm_source.objects.kinds import ApiObject

OBJECTS: tuple[ApiObject, ...] = (
    certificates.CERTIFICATES,
    csr.CSR_LIST,
    certificate_details.CERTIFICATE_DETAILS,
    certificate_deployments.CERTIFICATE_DEPLOYMENTS,
    certificate_tags.CERTIFICATE_TAGS,
    private_cas.PRIVATE_CAS,
    private_certificates.PRIVATE_CERTIFICATES,
)
OBJECT_NAMES = tuple(each.name for each in OBJECTS)


def by_name(name: str) -> ApiObject:
    return next(each for each in OBJECTS if each.name == name)
