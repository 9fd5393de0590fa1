"""One simulated account's inventory, generated from a seed, changed between runs the way a day
changes it, and listed per object (each object's data and listing in a module of its own)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pendulum

from scm_source.objects.certificates import CERTIFICATE_STATUSES
from scm_source.simulator import certificate_deployments, certificate_details, certificate_tags
from scm_source.simulator import certificates as certificate_data
from scm_source.simulator import csr as csr_data
from scm_source.simulator import private_cas as ca_data
from scm_source.simulator import private_certificates as private_certificate_data
from scm_source.simulator.account import AccountIdentity
from scm_source.simulator.certificates import CertificateRecord
from scm_source.simulator.lists import SimulatedList

SIMULATED_LISTS: dict[str, SimulatedList] = {
    each.declaration.name: each
    for each in (
        certificate_data.SIMULATED,
        csr_data.SIMULATED,
        certificate_tags.SIMULATED,
        ca_data.SIMULATED,
        private_certificate_data.SIMULATED,
    )
}


@dataclass
class Dataset(AccountIdentity):
    """The inventory one simulated account holds."""

    certificates: list[CertificateRecord] = field(default_factory=list)
    csrs: list[dict[str, Any]] = field(default_factory=list)
    private_cas: list[dict[str, Any]] = field(default_factory=list)
    private_certificates: list[dict[str, Any]] = field(default_factory=list)
    # Filtered, sorted listings by query (paging aside): paging through 10,000 rows must not
    # re-sort them for every page. `invalidate()` after changing the data.
    _indexes: dict[str, dict[str, CertificateRecord]] = field(default_factory=dict, repr=False)
    _listings: dict[tuple[str, frozenset[tuple[str, str]]], list[dict[str, Any]]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def generate(
        cls,
        certificates: int = 250,
        csrs: int = 120,
        seed: int = 0,
        now: datetime | None = None,
        zone: str = "Asia/Shanghai",
        legacy_fields: bool = False,
        twins: int = 0,
        domain_id: str | None = None,
        private_cas: int = 3,
        private_certificates: int = 8,
    ) -> Dataset:
        """`domain_id` is the account's id (default: drawn from the seed).
        `private_cas` and `private_certificates` are CCM's (a root first, then subordinates).
        `legacy_fields` drops `domain_id` and `enterprise_project_id`, as older APIs do.
        `twins` adds that many certificates and CSRs alike in every field a query can filter or
        sort by (only ids differ): a part no query can split, for what stays unreachable."""
        rng = random.Random(seed)
        moment = pendulum.instance(now or pendulum.now("UTC")).in_tz("UTC").replace(microsecond=0)
        drawn = f"{rng.getrandbits(128):032x}"
        dataset = cls(zone, domain_id or drawn, moment, seed)
        for index in range(certificates):
            dataset.certificates.append(
                certificate_data.generate(dataset, rng, index, legacy_fields)
            )
        for index in range(csrs):
            dataset.csrs.append(csr_data.generate(dataset, rng, index))
        certificate = certificate_data.generate(dataset, rng, 0, legacy_fields)
        request = csr_data.generate(dataset, rng, 0)
        for index in range(twins):
            twin = {**certificate.api, "id": f"scs-twin-{index:06d}"}
            dataset.certificates.append(replace(certificate, api=twin, owned_by_self=True))
            dataset.csrs.append({**request, "id": f"twin{index:028d}"})
        pca = random.Random(f"pca-{seed}")  # apart: the certificates stay what a seed made
        dataset.private_cas = ca_data.generate(dataset, pca, private_cas)
        dataset.private_certificates = private_certificate_data.generate(
            dataset, pca, dataset.private_cas, private_certificates
        )
        return dataset

    # -- changes between runs (what a scheduled load must notice) --------------------------------

    def certificate(self, certificate_id: str) -> CertificateRecord:
        return next(r for r in self.certificates if r.api["id"] == certificate_id)

    def set_status(self, certificate_id: str, status: str) -> None:
        """As SCM does when a certificate is issued, revoked or expires: a newer update time."""
        record = self.certificate(certificate_id)
        record.api["status"] = status
        record.updated_at = pendulum.now("UTC")
        self.invalidate()

    def add_certificates(self, count: int, seed: int = 0) -> list[CertificateRecord]:
        rng = random.Random(f"add-{seed}-{len(self.certificates)}")
        start = len(self.certificates)
        added = [
            certificate_data.generate(self, rng, start + i, legacy=False) for i in range(count)
        ]
        for record in added:
            record.owned_by_self = True  # listed by default, so a run sees it
        self.certificates.extend(added)
        self.invalidate()
        return added

    def delete_certificates(self, certificate_ids: set[str]) -> None:
        self.certificates = [r for r in self.certificates if r.api["id"] not in certificate_ids]
        self.invalidate()

    def update_csr(self, csr_id: str, **fields: Any) -> None:
        request = next(each for each in self.csrs if each["id"] == csr_id)
        request.update(fields, update_time=int(pendulum.now("UTC").timestamp() * 1000))
        self.invalidate()

    def churn(self, count: int, seed: int = 0) -> dict[str, list[str]]:
        """`count` of each change a day brings: listed certificates changing status, new ones,
        deleted ones, renamed CSRs. Says which ids, so a caller can check what a run saw."""
        rng = random.Random(f"churn-{seed}")
        listed = [r for r in self.certificates if r.owned_by_self]
        changing = rng.sample(listed, min(count, len(listed)))
        deleted = {r.api["id"] for r in changing[len(changing) // 2 :]}
        for record in changing[: len(changing) // 2]:
            others = [s for s in CERTIFICATE_STATUSES if s != record.api["status"]]
            self.set_status(record.api["id"], rng.choice(others))
        self.delete_certificates(deleted)
        renamed = rng.sample(self.csrs, min(count, len(self.csrs)))
        for request in renamed:
            self.update_csr(request["id"], name=f"{request['name']}-renewed")
        return {
            "status_changed": [r.api["id"] for r in changing[: len(changing) // 2]],
            "deleted": sorted(deleted),
            "added": [r.api["id"] for r in self.add_certificates(count, seed)],
            "csrs_renamed": [request["id"] for request in renamed],
        }

    # -- the API's list semantics ---------------------------------------------------------------

    def invalidate(self) -> None:
        self._listings.clear()
        self._indexes.clear()

    def detail(self, certificate_id: str) -> dict[str, Any] | None:
        """ShowCertificate's answer, or None for an id the account does not hold."""
        found = self._by_id().get(certificate_id)
        return None if found is None else certificate_details.detail(found, self)

    def deployed(self, body: bytes) -> dict[str, Any]:
        """ListDeployedResources' answer for a request body (BadParameter for a bad one)."""
        return certificate_deployments.answer(self._by_id(), body)

    def _by_id(self) -> dict[str, CertificateRecord]:
        by_id = self._indexes.get("by_id")
        if by_id is None:
            by_id = self._indexes["by_id"] = {r.api["id"]: r for r in self.certificates}
        return by_id

    def listing(self, kind: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """The listing of one paged list of the registry (by its name), remembered per filter
        and sort."""
        key = (kind, frozenset((k, v) for k, v in query.items() if k not in ("limit", "offset")))
        if key not in self._listings:
            simulated = SIMULATED_LISTS[kind]
            records = getattr(self, simulated.collection)
            self._listings[key] = simulated.listing(records, self, dict(key[1]))
        return self._listings[key]
