"""Every object of the registry is wired through: the source takes its settings section and
makes its resource, the simulator serves it, the views know its tables, the command offers it.
Expected names are written here, not read back from the registry."""

from __future__ import annotations

import pytest
import requests
from scm_export.cli import _parser

from scm_source import ScmConfigError, scm_source
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from scm_source.warehouse.views import LOADED_TABLES

RESOURCES = [
    "certificates",
    "csr_list",
    "certificate_details",
    "certificate_deployments",
    "certificate_tags",
    "private_cas",
    "private_certificates",
    "expiry_policy",  # the policy, loaded beside the objects
]
TABLES = {
    "certificates",
    "certificates_history",
    "csr_list",
    "csr_history",
    "certificate_details",
    "certificate_deployments",
    "certificate_deployments_history",
    "certificate_deployment_counts",
    "certificate_tags",
    "certificate_tags_history",
    "certificate_renewals",
    "private_cas",
    "private_cas_history",
    "private_certificates",
    "private_certificates_history",
    "sync_log",
    "expiry_policy",
}
# The paged lists read with GET: (path, list key, total key, a field a malformed answer sends
# with the wrong type).
LISTS = {
    "certificates": ("/v3/scm/certificates", "certificates", "total_count", "deploy_support"),
    "csr_list": ("/v3/scm/csr", "csr_list", "total", "create_time"),
    "private_cas": (
        "/v1/private-certificate-authorities",
        "certificate_authorities",
        "total",
        "path_length",
    ),
    "private_certificates": ("/v1/private-certificates", "certificates", "total", "freeze_flag"),
}


def test_the_source_makes_one_resource_per_object_and_sends_nothing(sim: Simulator) -> None:
    source = scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url)
    assert list(source.resources) == RESOURCES
    assert sim.requests == []


def test_the_views_know_every_loaded_table() -> None:
    assert LOADED_TABLES == TABLES


@pytest.mark.parametrize("name", list(LISTS))
def test_each_object_reads_its_own_settings_section(
    sim: Simulator, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"SOURCES__SCM_SOURCE__{name.upper()}__PAGE_SIZE", "3000")
    with pytest.raises(ScmConfigError, match=rf"^{name}\.page_size=3000 "):
        scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url)
    source = scm_source(
        credentials={"auth_token": sim.token}, endpoint=sim.url, **{name: {"page_size": 20}}
    )
    assert name in source.resources


def test_an_unknown_object_setting_is_refused(sim: Simulator) -> None:
    with pytest.raises(ScmConfigError, match="unknown setting 'certificate'"):
        scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url, certificate={})


@pytest.mark.parametrize("name", list(LISTS))
def test_the_simulator_serves_each_list(name: str) -> None:
    path, list_key, total_key, odd_field = LISTS[name]
    dataset = Dataset.generate(
        certificates=12, csrs=12, seed=1, private_cas=12, private_certificates=12
    )
    with Simulator(dataset) as simulator:
        answer = requests.get(
            simulator.url + path,
            params={"limit": 10, "offset": 0, "owned_by_self": "false"},
            headers={"X-Auth-Token": simulator.token},
            timeout=10,
        )
    body = answer.json()
    assert answer.status_code == 200 and len(body[list_key]) == 10
    assert body[total_key] == 12
    with Simulator(dataset, SimulatorOptions(malformed="wrong_type")) as simulator:
        broken = requests.get(
            simulator.url + path, headers={"X-Auth-Token": simulator.token}, timeout=10
        ).json()
    assert broken[list_key][0][odd_field] == "yes"


def test_the_command_offers_every_object_to_resources() -> None:
    assert _parser().parse_args(["run"]).resources.split(",") == RESOURCES[:-1]  # not the policy
