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
ACCOUNT_SETTINGS = ("endpoint", "credentials")


def check_setting_names(
    settings: Collection[str], credential_fields: Collection[str], aliases: Collection[str]
) -> None:
    """Raises for the first unknown name: `settings` are the source's own, `aliases` the
    accounts' sections (each with an endpoint and credentials)."""
    for origin, path in _configured_paths():
        problem = _unknown(path, settings, credential_fields, aliases)
        if problem is not None:
            given, candidates, where = problem
            nearest = difflib.get_close_matches(given, candidates, n=1, cutoff=0.6)
            name = _spell(origin, [*SECTION, *path])
            hint = (
                f"did you mean {_spell(origin, [*SECTION, *where, nearest[0]])}?"
                if nearest
                else f"the settings there are {', '.join(sorted(candidates))}"
            )
            raise ScmConfigError(f"unknown setting {name} ({_describe(origin)}): {hint}")


def _unknown(
    path: list[str],
    settings: Collection[str],
    credential_fields: Collection[str],
    aliases: Collection[str],
) -> tuple[str, Collection[str], list[str]] | None:
    """(the unknown name, the names valid in its place, the path to its place) or None."""
    if path[0] == SECTION[1] and len(path) > 1:  # dlt also reads sources.scm_source.scm_source
        found = _unknown(path[1:], settings, credential_fields, aliases)
        return found and (found[0], found[1], [SECTION[1], *found[2]])
    prefix: list[str] = []
    if path[0] in aliases:
        prefix, path = [path[0]], path[1:]
        if not path:
            return None
        if path[0] not in ACCOUNT_SETTINGS:
            return path[0], ACCOUNT_SETTINGS, prefix
    elif path[0] not in settings:
        return path[0], [*settings, *aliases], []
    if path[0] == "credentials" and len(path) > 1 and path[1] not in credential_fields:
        return path[1], credential_fields, [*prefix, "credentials"]
    return None


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


def _spell(origin: str, path: list[str]) -> str:
    if origin.upper().startswith(ENV_PREFIX):
        return "__".join(part.upper() for part in path)
    return ".".join(path)


def _describe(origin: str) -> str:
    return "an environment variable" if origin.upper().startswith(ENV_PREFIX) else f"in {origin}"
