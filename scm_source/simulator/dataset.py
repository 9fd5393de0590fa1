"""A deterministic SCM inventory and the API's list semantics over it (filters, sort, validation).

Hidden attributes the API does not return (the expiry instant, the update time that
`certUpdateTime` sorts by, ownership) live beside each object so that tests can compute expected
results without re-parsing what the connector parses.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pendulum

from scm_source.lists import CERTIFICATES, CSR_LIST
from scm_source.settings import (
    BRANDS,
    CERTIFICATE_STATUS_FILTERS,
    CERTIFICATE_STATUSES,
    CERTIFICATE_TYPES,
    DOMAIN_TYPES,
    MAX_CSR_NAME_LENGTH,
    MAX_EXPIRED_DAYS_SINCE,
    PAGE_SIZES,
    PRIVATE_KEY_ALGOS,
    SORT_DIRS,
    SORT_KEYS,
)

# Days from now for the first certificates, so that every report bucket is populated even in a
# small data set: long expired, just expired, within 7, 14, 30, 60, 90 days, and far off.
_EXPIRY_PATTERN_DAYS = (-400, -20, -1, 2, 6, 10, 13, 25, 29, 45, 75, 88, 200, 700)
_HOSTS = ("www", "api", "mail", "shop", "cdn", "vpn", "app", "portal", "auth", "static")
# Most certificates are issued, expired or uploaded; states on the way are rare, and rarest the
# two no status filter selects (the planner finds them by sorting).
_COMMON_STATUSES = {"ISSUED": 32, "EXPIRED": 12, "UPLOAD": 8, "REVOKED": 4}
_STATUS_WEIGHTS = (*(_COMMON_STATUSES.get(status, 2) for status in CERTIFICATE_STATUSES[:-2]), 1, 1)
_SIGNATURES = ("SHA256WITHRSA", "SHA384WITHECDSA", "SM3WITHSM2")
_CITIES = (
    ("CN", "Guangdong", "Shenzhen"),
    ("CN", "Beijing", "Beijing"),
    ("SG", "Singapore", "Singapore"),
    ("DE", "Hessen", "Frankfurt"),
    ("MY", "Kuala Lumpur", "Kuala Lumpur"),
)
_PROJECTS = (
    "0",
    "0",
    "0",
    "6f4b1c1e-5d0f-4d3a-9a49-2a8f0c7d1e11",
    "b1f5a3d2-77c4-4c8e-8a0e-3f9d2e6c4a55",
)


class BadParameter(ValueError):
    """A query the real API answers with 400 SCM.0005."""


@dataclass
class CertificateRecord:
    api: dict[str, Any]
    expires_at: datetime
    updated_at: datetime
    owned_by_self: bool = True


@dataclass
class Dataset:
    """The inventory one simulated account holds."""

    certificates: list[CertificateRecord]
    csrs: list[dict[str, Any]]
    zone: str
    domain_id: str
    now: datetime
    seed: int = 0
    _counter: int = field(default=0, repr=False)
    # Filtered, sorted listings by query (paging aside): paging through 10,000 rows must not
    # re-sort them for every page. `invalidate()` after changing the data.
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
    ) -> Dataset:
        """`domain_id` is the account's id (default: drawn from the seed).
        `legacy_fields` drops `domain_id` and `enterprise_project_id`, as older APIs do.
        `twins` adds that many certificates and CSRs alike in every field a query can filter or
        sort by (only ids differ): a part no query can split, for what stays unreachable."""
        rng = random.Random(seed)
        moment = pendulum.instance(now or pendulum.now("UTC")).in_tz("UTC").replace(microsecond=0)
        drawn = f"{rng.getrandbits(128):032x}"
        dataset = cls([], [], zone, domain_id or drawn, moment, seed)
        for index in range(certificates):
            dataset.certificates.append(dataset._certificate(rng, index, legacy_fields))
        for index in range(csrs):
            dataset.csrs.append(dataset._csr(rng, index))
        certificate, csr = dataset._certificate(rng, 0, legacy_fields), dataset._csr(rng, 0)
        for index in range(twins):
            twin = {**certificate.api, "id": f"scs-twin-{index:06d}"}
            dataset.certificates.append(replace(certificate, api=twin, owned_by_self=True))
            dataset.csrs.append({**csr, "id": f"twin{index:028d}"})
        return dataset

    # -- generation -----------------------------------------------------------------------------

    def _certificate(self, rng: random.Random, index: int, legacy: bool) -> CertificateRecord:
        def cycle(values: tuple[str, ...]) -> str:
            """Every value once, in order, then random picks."""
            return values[index] if index < len(values) else rng.choice(values)

        status = (
            CERTIFICATE_STATUSES[index]
            if index < len(CERTIFICATE_STATUSES)
            else rng.choices(CERTIFICATE_STATUSES, _STATUS_WEIGHTS)[0]
        )
        domain_type = DOMAIN_TYPES[index % len(DOMAIN_TYPES)]
        apex = f"corp{rng.randrange(max(4, index // 25 + 1))}.example.com"
        host = f"{rng.choice(_HOSTS)}.{apex}"
        if domain_type == "WILDCARD":
            domain, names = f"*.{apex}", [f"*.{apex}"]
        elif domain_type == "MULTI_DOMAIN":
            extra = rng.sample(_HOSTS, rng.randint(1, 3))
            names = [host, apex, *(f"{name}.{apex}" for name in extra if f"{name}.{apex}" != host)]
            if rng.random() < 0.3:
                names.append(f"*.{rng.choice(_HOSTS)}.{apex}")
            domain = host
        else:
            domain, names = host, [host]
        sans = ";".join(names[1:]) if domain_type == "MULTI_DOMAIN" else rng.choice(("", domain))
        days = (
            _EXPIRY_PATTERN_DAYS[index]
            if index < len(_EXPIRY_PATTERN_DAYS)
            else rng.uniform(-400, 800)
        )
        if status == "EXPIRED":  # the API marks a certificate EXPIRED after its date, not before
            days = -abs(days) - 1
        # Whole seconds: the API's string carries no more.
        expires_at = (self.now + timedelta(days=days, seconds=rng.randrange(86_400))).replace(
            microsecond=0
        )
        api: dict[str, Any] = {
            "id": self.next_certificate_id(rng),
            "name": f"cert-{index:05d}-{host.split('.')[0]}",
            "domain": domain,
            "sans": sans,
            "signature_algorithm": rng.choice(_SIGNATURES),
            "deploy_support": rng.random() < 0.7,
            "type": cycle(CERTIFICATE_TYPES),
            "brand": cycle(BRANDS),
            "expire_time": self.format_expire_time(expires_at),
            "domain_type": domain_type,
            "validity_period": 12,
            "status": status,
            "domain_count": len(names),
            "wildcard_count": sum(name.startswith("*.") for name in names),
        }
        if rng.random() < 0.6:  # optional in the API: often simply absent
            api["description"] = f"{apex} {status.lower()} certificate"
        if not legacy:
            api["domain_id"] = self.domain_id
            api["enterprise_project_id"] = rng.choice(_PROJECTS)
        updated_at = self.now - timedelta(seconds=rng.randrange(365 * 86_400))
        return CertificateRecord(api, expires_at, updated_at, owned_by_self=rng.random() < 0.9)

    def _csr(self, rng: random.Random, index: int) -> dict[str, Any]:
        apex = f"corp{rng.randrange(max(4, index // 25 + 1))}.example.com"
        country, province, city = rng.choice(_CITIES)
        created = int((self.now - timedelta(days=rng.uniform(0, 700))).timestamp() * 1000)
        created += rng.randrange(1000)
        body = base64.b64encode(rng.randbytes(180)).decode()
        return {
            "id": f"{rng.getrandbits(128):032x}",
            "name": f"csr-{index:05d}-{rng.choice(_HOSTS)}",
            "csr": "-----BEGIN CERTIFICATE REQUEST-----\n"
            + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
            + "\n-----END CERTIFICATE REQUEST-----\n",
            "domain_name": f"{rng.choice(_HOSTS)}.{apex}",
            "sans": rng.choice(("", f"{apex};www.{apex}")),
            "private_key_algo": PRIVATE_KEY_ALGOS[index % len(PRIVATE_KEY_ALGOS)],
            "usage": "ENTERPRISE",
            "company_country": country,
            "company_province": province,
            "company_city": city,
            "company_name": f"Example {apex.split('.')[0].title()} Ltd",
            "create_time": created,
            "update_time": created + rng.randrange(30 * 86_400_000),
        }

    def next_certificate_id(self, rng: random.Random) -> str:
        self._counter += 1
        return f"scs{1554192131150 + self._counter * 1000 + rng.randrange(1000)}"

    def format_expire_time(self, instant: datetime) -> str:
        """The API's form: local wall time in the account's zone, no zone, one fraction digit."""
        return pendulum.instance(instant).in_tz(self.zone).format("YYYY-MM-DD HH:mm:ss") + ".0"

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
        added = [self._certificate(rng, start + i, legacy=False) for i in range(count)]
        for record in added:
            record.owned_by_self = True  # listed by default, so a run sees it
        self.certificates.extend(added)
        self.invalidate()
        return added

    def delete_certificates(self, certificate_ids: set[str]) -> None:
        self.certificates = [r for r in self.certificates if r.api["id"] not in certificate_ids]
        self.invalidate()

    def update_csr(self, csr_id: str, **fields: Any) -> None:
        csr = next(csr for csr in self.csrs if csr["id"] == csr_id)
        csr.update(fields, update_time=int(pendulum.now("UTC").timestamp() * 1000))
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
        for csr in renamed:
            self.update_csr(csr["id"], name=f"{csr['name']}-renewed")
        return {
            "status_changed": [r.api["id"] for r in changing[: len(changing) // 2]],
            "deleted": sorted(deleted),
            "added": [r.api["id"] for r in self.add_certificates(count, seed)],
            "csrs_renamed": [csr["id"] for csr in renamed],
        }

    # -- the API's list semantics ---------------------------------------------------------------

    def invalidate(self) -> None:
        self._listings.clear()

    def listing(self, kind: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """The listing of one list of the registry (by its name), remembered per filter and
        sort."""
        key = (kind, frozenset((k, v) for k, v in query.items() if k not in ("limit", "offset")))
        if key not in self._listings:
            listers = {CERTIFICATES.name: self.list_certificates, CSR_LIST.name: self.list_csrs}
            self._listings[key] = listers[kind](dict(key[1]))
        return self._listings[key]

    def list_certificates(self, query: dict[str, str]) -> list[dict[str, Any]]:
        status = _choice(query, "status", ("ALL", *CERTIFICATE_STATUS_FILTERS[1:]), "ALL")
        sort_key = _choice(query, "sort_key", SORT_KEYS, "certUpdateTime")
        descending = _choice(query, "sort_dir", SORT_DIRS, "DESC") == "DESC"
        project = query.get("enterprise_project_id")
        deploy = _boolean(query, "deploy_support")
        owned_only = _boolean(query, "owned_by_self")
        days = _integer(query, "expired_days_since", 0, MAX_EXPIRED_DAYS_SINCE)
        content = query.get("content", "").lower()

        def keep(record: CertificateRecord) -> bool:
            api = record.api
            return (
                (status == "ALL" or api["status"] == status)
                and (project in (None, "all") or api.get("enterprise_project_id") == project)
                and (deploy is None or api["deploy_support"] == deploy)
                and (owned_only is False or record.owned_by_self)
                and (days is None or record.expires_at >= self.now - timedelta(days=days))
                and (
                    not content
                    or content in api["name"].lower()
                    or content in api["domain"].lower()
                )
            )

        sort_value: Callable[[CertificateRecord], Any] = {
            "certExpiredTime": lambda record: record.expires_at,
            "certStatus": lambda record: record.api["status"],
            "certUpdateTime": lambda record: record.updated_at,
        }[sort_key]
        chosen = sorted((r for r in self.certificates if keep(r)), key=lambda r: r.api["id"])
        chosen.sort(key=sort_value, reverse=descending)
        return [record.api for record in chosen]

    def list_csrs(self, query: dict[str, str]) -> list[dict[str, Any]]:
        name = query.get("name")
        if name is not None and len(name) > MAX_CSR_NAME_LENGTH:
            raise BadParameter("name")
        algo = _choice(query, "private_key_algo", PRIVATE_KEY_ALGOS, None)
        chosen = [
            csr
            for csr in self.csrs
            if (not name or name.lower() in csr["name"].lower())
            and (algo is None or csr["private_key_algo"] == algo)
        ]
        return sorted(chosen, key=lambda csr: (-csr["create_time"], csr["id"]))


def page_window(query: dict[str, str], offset_mode: str, max_offset: int | None) -> slice:
    """The rows one request covers, under either reading of `offset`."""
    limit = _integer(query, "limit", 0, 10**9)
    limit = 10 if limit is None else limit
    if limit not in PAGE_SIZES:
        raise BadParameter("limit")
    offset = _integer(query, "offset", 0, max_offset if max_offset is not None else 10**9)
    start = (offset or 0) * (limit if offset_mode == "page" else 1)
    return slice(start, start + limit)


def _choice(query: dict[str, str], key: str, allowed: tuple[Any, ...], default: Any) -> Any:
    value = query.get(key, default)
    if value not in allowed and value != default:
        raise BadParameter(key)
    return value


def _boolean(query: dict[str, str], key: str) -> bool | None:
    value = query.get(key)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise BadParameter(key)
    return value == "true"


def _integer(query: dict[str, str], key: str, low: int, high: int) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadParameter(key)
    return int(value)
