"""Every list of the registry is wired through: a source argument and resource, the simulator's
listing and broken answers, the views' known tables, the command's --resources."""

from __future__ import annotations

import inspect

import pytest
import requests
from scm_export.cli import _parser

from scm_source import scm_source
from scm_source.lists import LIST_NAMES, LISTS, ScmList
from scm_source.simulator import Dataset, Simulator, SimulatorOptions
from scm_source.simulator.server import _BAD_TIME, _WRONG_TYPE
from scm_source.views import LOADED_TABLES


@pytest.mark.parametrize("scm_list", LISTS, ids=LIST_NAMES)
def test_the_source_takes_each_lists_settings_and_makes_its_resource(
    sim: Simulator, scm_list: ScmList
) -> None:
    parameter = inspect.signature(scm_source).parameters[scm_list.name]
    assert parameter.annotation in (scm_list.settings, scm_list.settings.__name__)
    source = scm_source(credentials={"auth_token": sim.token}, endpoint=sim.url)
    assert scm_list.name in source.resources
    assert {scm_list.name, scm_list.history} <= LOADED_TABLES
    assert sim.requests == []  # making the source sends nothing


@pytest.mark.parametrize("scm_list", LISTS, ids=LIST_NAMES)
def test_the_simulator_serves_each_list_as_the_registry_reads_it(scm_list: ScmList) -> None:
    dataset = Dataset.generate(certificates=12, csrs=12, seed=1)
    with Simulator(dataset) as simulator:
        answer = requests.get(
            simulator.url + scm_list.endpoint.path,
            params={"limit": 10, "offset": 0},
            headers={"X-Auth-Token": simulator.token},
            timeout=10,
        )
    body = answer.json()
    assert answer.status_code == 200 and len(body[scm_list.endpoint.list_key]) == 10
    assert body[scm_list.endpoint.total_key] == len(dataset.listing(scm_list.name, {}))
    assert scm_list.name in _WRONG_TYPE and scm_list.name in _BAD_TIME
    with Simulator(dataset, SimulatorOptions(malformed="wrong_type")) as simulator:
        broken = requests.get(
            simulator.url + scm_list.endpoint.path,
            headers={"X-Auth-Token": simulator.token},
            timeout=10,
        ).json()
    assert broken[scm_list.endpoint.list_key][0][_WRONG_TYPE[scm_list.name]] == "yes"


def test_the_command_offers_every_list_to_resources() -> None:
    run = _parser().parse_args(["run"])
    assert run.resources.split(",") == list(LIST_NAMES)
