"""Setting names are checked too, not only values: dlt reads only the names a source asks for, so
`page_sise = 20` in config.toml or SOURCES__SCM_SOURCE__PAGESIZE=20 would be silently ignored.
Every key under `sources.scm_source` in the TOML files and the environment must be a setting, an
account's section or a credentials field; anything else stops the run with the nearest name."""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import tomlkit
from dlt.common.configuration.container import Container
from dlt.common.configuration.providers.doc import BaseDocProvider
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

from scm_source.errors import ScmConfigError

SECTION = ("sources", "scm_source")
ENV_PREFIX = "SOURCES__SCM_SOURCE__"
# A name tree: each name is a setting (None) or a section with the names in it.
Tree = Mapping[str, Any]
# Names of the first releases, before each list had a section, that are not a section's name.
RENAMED = {"csr_name": ["csr_list.name"]}
# The sections the first releases' top-level names moved into (the objects added since never had
# a top-level name).
MOVED_INTO = ("certificates", "csr_list", "http", "organization")


def check_setting_names(tree: Tree, aliases: Collection[str]) -> None:
    """Raises for the first unknown name: `tree` holds the source's settings and sections,
    `aliases` the accounts' sections (each with an endpoint and credentials)."""
    account: Tree = {
        "endpoint": None,
        "ccm_endpoint": None,
        "agency_name": None,
        "domain_id": None,
        "credentials": tree["credentials"],
    }
    _check_source_name()
    known = {**tree, **{alias: account for alias in aliases}}
    moved = {**_moved(tree), **RENAMED}
    for origin, path in _configured_paths():
        if path[0] == SECTION[1] and len(path) > 1:  # dlt also reads sources.scm_source.scm_source
            origin_path, path = [SECTION[1]], path[1:]
        else:
            origin_path = []
        if len(path) == 1 and path[0] in moved:
            now = [_spell(origin, [*SECTION, *place.split(".")]) for place in moved[path[0]]]
            raise ScmConfigError(
                f"setting {_spell(origin, [*SECTION, *origin_path, path[0]])} ({_describe(origin)})"
                f" has moved: set {' and '.join(now)}"
            )
        problem = _unknown(path, known)
        if problem is not None:
            given, candidates, where = problem
            # At the top, a misspelt name of the first releases points to where it lives now.
            places = {name: [name] for name in candidates} | (moved if not where else {})
            nearest = difflib.get_close_matches(given, places, n=1, cutoff=0.6)
            name = _spell(origin, [*SECTION, *origin_path, *path])
            spelt = (
                [
                    _spell(origin, [*SECTION, *origin_path, *where, *place.split(".")])
                    for place in places[nearest[0]]
                ]
                if nearest
                else []
            )
            hint = (
                f"did you mean {' or '.join(spelt)}?"
                if spelt
                else f"the settings there are {', '.join(sorted(candidates))}"
            )
            raise ScmConfigError(f"unknown setting {name} ({_describe(origin)}): {hint}")


def _moved(tree: Tree) -> dict[str, list[str]]:
    """Each name of a section that is not a top-level setting, with where it is now."""
    moved: dict[str, list[str]] = {}
    for section, names in tree.items():
        if isinstance(names, Mapping) and section in MOVED_INTO:
            for name in names:
                if name not in tree:
                    moved.setdefault(name, []).append(f"{section}.{name}")
    return moved


def _unknown(path: list[str], tree: Tree) -> tuple[str, Collection[str], list[str]] | None:
    """(the unknown name, the names valid in its place, the path to its place) or None."""
    where: list[str] = []
    for name in path:
        if not isinstance(tree, Mapping):  # below a setting: a value's own keys
            return None
        if name not in tree:
            return name, list(tree), where
        tree, where = tree[name], [*where, name]
    return None


def _check_source_name() -> None:
    """A section `sources.<name>` that is meant for this source but misspelt: its settings would
    be read by no one (`[sources.scm_sorce.credentials]` then says only "no SCM credentials")."""
    for origin, name in _source_sections():
        if name != SECTION[1] and (
            "scm" in name or difflib.get_close_matches(name, [SECTION[1]], n=1, cutoff=0.7)
        ):
            spelt = _spell(origin, [SECTION[0], name])
            right = _spell(origin, list(SECTION))
            raise ScmConfigError(
                f"unknown section {spelt} ({_describe(origin)}): did you mean {right}?"
            )


def _source_sections() -> Iterator[tuple[str, str]]:
    """(origin, name) of every section under `sources` that something is configured in."""
    for name in os.environ:
        parts = name.upper().split("__")
        if len(parts) > 2 and parts[0] == "SOURCES":
            yield name, parts[1].lower()
    for provider in Container()[PluggableRunContext].providers.providers:
        if isinstance(provider, BaseDocProvider):
            sources: Any = tomlkit.loads(provider.to_toml()).get(SECTION[0], {})
            for name in sources if isinstance(sources, Mapping) else ():
                yield provider.name, str(name)


def _configured_paths() -> Iterator[tuple[str, list[str]]]:
    """(origin, key path below sources.scm_source) of every value configured there."""
    for name in os.environ:
        if name.upper().startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            yield name, name[len(ENV_PREFIX) :].lower().split("__")
    for provider in Container()[PluggableRunContext].providers.providers:
        if isinstance(provider, BaseDocProvider):
            section: Any = tomlkit.loads(provider.to_toml())
            for key in SECTION:
                section = section.get(key, {}) if isinstance(section, Mapping) else {}
            for path in _leaf_paths(section):
                yield provider.name, path


def _leaf_paths(table: Any, prefix: tuple[str, ...] = ()) -> Iterator[list[str]]:
    if not isinstance(table, Mapping):
        return
    for key, value in table.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            yield from _leaf_paths(value, path)
        else:
            yield list(path)


def _from_environment(origin: str) -> bool:
    return origin.upper().startswith("SOURCES__")


def _spell(origin: str, path: list[str]) -> str:
    if _from_environment(origin):
        return "__".join(part.upper() for part in path)
    return ".".join(path)


def _describe(origin: str) -> str:
    return "an environment variable" if _from_environment(origin) else f"in {origin}"
