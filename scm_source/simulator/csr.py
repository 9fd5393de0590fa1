"""The simulator's certificate signing requests, generated from a seed (every key algorithm
appears) and listed as `GET /v3/scm/csr` lists them."""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from scm_source.objects.csr import CSR_LIST, MAX_CSR_NAME_LENGTH, PRIVATE_KEY_ALGOS
from scm_source.simulator.account import AccountIdentity
from scm_source.simulator.certificates import HOSTS
from scm_source.simulator.lists import SimulatedList
from scm_source.simulator.queries import BadParameter, choice

_CITIES = (
    ("CN", "Guangdong", "Shenzhen"),
    ("CN", "Beijing", "Beijing"),
    ("SG", "Singapore", "Singapore"),
    ("DE", "Hessen", "Frankfurt"),
    ("MY", "Kuala Lumpur", "Kuala Lumpur"),
)


def generate(account: AccountIdentity, rng: random.Random, index: int) -> dict[str, Any]:
    """The `index`th CSR of an account, as the API lists it."""
    apex = f"corp{rng.randrange(max(4, index // 25 + 1))}.example.com"
    country, province, city = rng.choice(_CITIES)
    created = int((account.now - timedelta(days=rng.uniform(0, 700))).timestamp() * 1000)
    created += rng.randrange(1000)
    body = base64.b64encode(rng.randbytes(180)).decode()
    return {
        "id": f"{rng.getrandbits(128):032x}",
        "name": f"csr-{index:05d}-{rng.choice(HOSTS)}",
        "csr": "-----BEGIN CERTIFICATE REQUEST-----\n"
        + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        + "\n-----END CERTIFICATE REQUEST-----\n",
        "domain_name": f"{rng.choice(HOSTS)}.{apex}",
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


def listing(
    records: Sequence[dict[str, Any]], account: AccountIdentity, query: dict[str, str]
) -> list[dict[str, Any]]:
    """`GET /v3/scm/csr` over the account's CSRs, newest first, paging aside."""
    name = query.get("name")
    if name is not None and len(name) > MAX_CSR_NAME_LENGTH:
        raise BadParameter("name")
    algo = choice(query, "private_key_algo", PRIVATE_KEY_ALGOS, None)
    chosen = [
        csr
        for csr in records
        if (not name or name.lower() in csr["name"].lower())
        and (algo is None or csr["private_key_algo"] == algo)
    ]
    return sorted(chosen, key=lambda csr: (-csr["create_time"], csr["id"]))


SIMULATED = SimulatedList(CSR_LIST, "csrs", listing, "create_time", ("create_time", "2021-05-27"))
