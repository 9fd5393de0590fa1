"""Certificate signing requests: `GET /v3/scm/csr` (scm-api.md). The list carries no account id:
its rows get the account's configured `domain_id`."""

from __future__ import annotations

from typing import Any

from dlt.common.configuration import configspec

from scm_source.config.values import SECTION, one_of
from scm_source.errors import ScmConfigError
from scm_source.objects.kinds import ListSettings, PagedList, RowConverter, Table
from scm_source.paging.pages import ListEndpoint
from scm_source.paging.steps import Refine, Split
from scm_source.rows.schema import INSTANT, columns
from scm_source.rows.values import check_types, from_epoch_millis, parsed_field, type_checks

PRIVATE_KEY_ALGOS = ("RSA_2048", "RSA_3072", "RSA_4096", "EC_P256", "EC_P384", "SM2")
MAX_CSR_NAME_LENGTH = 32


@configspec
class CsrSettings(ListSettings):
    """GET /v3/scm/csr: `name` matches part of a CSR's name."""

    name: str | None = None
    private_key_algo: str | None = None

    def check(self, section: str) -> None:
        super().check(section)
        if self.name is not None and len(self.name) > MAX_CSR_NAME_LENGTH:
            raise ScmConfigError(
                f"{section}.name is {len(self.name)} characters long; the SCM API accepts at"
                f" most {MAX_CSR_NAME_LENGTH} ({SECTION}.{section}.name)"
            )
        if self.private_key_algo is not None:
            one_of(f"{section}.private_key_algo", self.private_key_algo, PRIVATE_KEY_ALGOS)

    @property
    def narrows(self) -> bool:
        return bool(self.name or self.private_key_algo)

    def query(self) -> dict[str, str]:
        return {
            key: value
            for key, value in (("name", self.name), ("private_key_algo", self.private_key_algo))
            if value is not None
        }


CSR_COLUMNS = columns(
    id="text",
    name="text",
    csr="text",
    domain_name="text",
    sans="text",
    private_key_algo="text",
    usage="text",
    company_country="text",
    company_province="text",
    company_city="text",
    company_name="text",
    create_time=INSTANT,
    update_time=INSTANT,
)


_CHECKS = type_checks(CSR_COLUMNS)


def csr_row(csr: dict[str, Any]) -> dict[str, Any]:
    check_types(csr, _CHECKS)
    row = dict(csr)
    for name in ("create_time", "update_time"):
        if csr.get(name) is not None:
            row[name] = parsed_field(from_epoch_millis, csr, name, csr[name])
    return row


def _csr_converter(settings: CsrSettings) -> RowConverter:
    return csr_row


CSR_LIST = PagedList(
    name="csr_list",
    endpoint=ListEndpoint("/v3/scm/csr", "csr_list", "total"),
    settings=CsrSettings,
    converter=_csr_converter,
    # The CSR list carries no account id: `domain_id` is the account's configured one.
    tables=(Table.of("csr_list", CSR_COLUMNS, history="csr_history"),),
    steps=(Split("private_key_algo", PRIVATE_KEY_ALGOS), Refine("name", ("name",))),
)
