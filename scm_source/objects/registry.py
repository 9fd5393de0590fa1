"""The registry: every object the connector reads, in the order a run starts them. The source,
the simulator, the views and the command all read it from here; what one object is lives in its
own module."""

from __future__ import annotations

from scm_source.objects import certificates, csr
from scm_source.objects.kinds import PagedList

OBJECTS: tuple[PagedList, ...] = (certificates.CERTIFICATES, csr.CSR_LIST)
OBJECT_NAMES = tuple(each.name for each in OBJECTS)


def by_name(name: str) -> PagedList:
    return next(each for each in OBJECTS if each.name == name)
