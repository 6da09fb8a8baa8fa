"""prefect.yaml as ``prefect deploy`` reads it: deployments of real flows, on the process work pool.

The file is parsed by Prefect's own model of it (the one ``prefect deploy`` validates with), each
entry point is loaded as a worker would load it, and each deployment's parameters are validated
by its flow, so a renamed parameter or a typo in a path fails here, not on a worker at 2 a.m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

from tests.conftest import REPO_ROOT

POOL = "leadflow-process"


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return loaded


PARTITION = "import-partition"
"""Run by split imports only (flows.split.parent): no schedule, its parameters from the parent."""


def _deployments() -> list[dict[str, Any]]:
    """The deployments run on a schedule, with the import settings as parameters."""
    deployments: list[dict[str, Any]] = _document()["deployments"]
    return [d for d in deployments if d["name"] != PARTITION]


def test_prefect_yaml_is_valid_for_prefect_deploy() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel  # what `prefect deploy` validates with

    model = PrefectYamlModel.model_validate(_document())

    assert {d.name for d in model.deployments} == {"nightly-import", "watched-folder-scan", PARTITION}
    for deployment in model.deployments:
        assert deployment.work_pool is not None and deployment.work_pool.name == POOL, deployment.name
        assert bool(deployment.schedules) == (deployment.name != PARTITION), deployment.name


def test_the_nightly_import_names_the_partition_deployment_of_a_real_flow() -> None:
    from flows.split.parent import PARTITION_DEPLOYMENT

    (entry,) = [d for d in _document()["deployments"] if d["name"] == PARTITION]
    loaded: object = load_flow_from_entrypoint(str(Path(REPO_ROOT) / entry["entrypoint"]))
    (nightly,) = [d for d in _deployments() if d["name"] == "nightly-import"]

    assert isinstance(loaded, Flow)
    named = nightly["parameters"]["partition_deployment"]
    assert named == f"{loaded.name}/{PARTITION}" == PARTITION_DEPLOYMENT


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: str(d["name"]))
def test_each_deployment_runs_a_real_flow_with_parameters_it_accepts(deployment: dict[str, Any]) -> None:
    loaded: object = load_flow_from_entrypoint(str(Path(REPO_ROOT) / deployment["entrypoint"]))
    assert isinstance(loaded, Flow)

    validated = loaded.validate_parameters(deployment["parameters"])  # required ones present, types right

    assert set(deployment["parameters"]) <= set(validated)


IMPORT_SETTINGS = {"targets_file", "target_names", "country", "mapping", "suppress", "out_dir", "dry_run"}
"""What ``leadflow watch`` and ``leadflow serve`` take for every import (flows.settings.ImportSettings)."""


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: str(d["name"]))
def test_each_deployment_shows_the_import_settings_the_watcher_takes(deployment: dict[str, Any]) -> None:
    parameters = deployment["parameters"]

    assert set(parameters) >= IMPORT_SETTINGS, IMPORT_SETTINGS - set(parameters)
    assert isinstance(parameters["suppress"], list) and parameters["suppress"]
    assert parameters["country"]
