"""The deployment artefacts, checked with the real parsers of their formats (no container engine here).

``deploy/check`` (Go) loads docker-compose.yml with compose-go, parses the Dockerfiles it builds with
BuildKit's parser, builds every kustomize overlay with krusty and decodes each object strictly into its
k8s.io/api type; it writes a report of every workload's NEWSFLOW_* environment and every autoscaler.
This module runs it, then checks the report against the services' real settings classes and the
event contracts, and shows on broken copies of the artefacts that the check does catch mistakes.
"""

import importlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from newsflow_contracts import ARTICLES
from newsflow_kit.envdoc import variables
from newsflow_kit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "deploy" / "check"
# What deploy/check reads: a copy of these is enough to run it on a broken variant.
ARTEFACTS = [
    "docker-compose.yml",
    ".dockerignore",
    "pyproject.toml",
    "uv.lock",
    "libs",
    "services",
    "deploy/docker",
    "deploy/elasticsearch",
    "deploy/k8s",
    "deploy/local/Procfile",
    "deploy/local/versions.env",
]
NOT_COPIED = shutil.ignore_patterns(".venv", "__pycache__", "*.pyc", ".*_cache", "target", "tests")
SECRET = "a-real-secret-for-the-settings-check"  # stands in for values that come from a Secret


def run_check(root: Path, report: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``go run`` caches the built executable, so a warm run costs well under a second."""
    go = shutil.which("go")
    assert go, "deploy/check needs Go (1.26+) on PATH"
    args = [go, "-C", str(CHECK), "run", "-buildvcs=false", ".", "-root", str(root)]
    if report is not None:
        args += ["-report", str(report)]
    return subprocess.run(args, capture_output=True, text=True, timeout=280, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("deploy") / "report.json"
    result = run_check(ROOT, path)
    assert result.returncode == 0, f"deploy/check failed:\n{result.stdout}{result.stderr}"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def settings_class(name: str) -> type[ServiceSettings]:
    if name == "kit":
        return ServiceSettings
    cls: type[ServiceSettings] = importlib.import_module(f"newsflow_{name}.settings").Settings
    return cls


def setting(settings: BaseModel, variable: str) -> Any:
    """The value a NEWSFLOW_A__B variable lands in: ``settings.a.b``."""
    value: Any = settings
    for part in variable.removeprefix("NEWSFLOW_").lower().split("__"):
        value = getattr(value, part)
    return value


def as_env(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for key in list(os.environ):
        if key.startswith("NEWSFLOW_"):
            monkeypatch.delenv(key)
    yield monkeypatch


def test_compose_dockerfiles_and_overlays_pass_the_deploy_check(report: dict[str, Any]) -> None:
    sources = {w["source"] for w in report["workloads"]}
    assert sources == {"compose", "k8s/local", "k8s/production"}


def test_every_workload_sets_only_real_settings_with_valid_values(
    report: dict[str, Any], clean_env: pytest.MonkeyPatch
) -> None:
    for workload in report["workloads"]:
        where = f"{workload['source']} {workload['name']}"
        cls = settings_class(workload["settings"])
        env = {k: SECRET if v is None else v for k, v in workload["env"].items()}
        unknown = sorted(set(env) - set(variables(cls)))
        assert not unknown, f"{where}: {unknown} are not fields of {cls.__module__}.{cls.__name__}"
        for key, value in env.items():
            clean_env.setenv(key, value)
        settings = cls()  # validates every value (types, bounds, the production secret rule)
        for key, value in env.items():
            assert as_env(setting(settings, key)) == value, f"{where}: {key}={value} did not reach the settings"
        for key in env:
            clean_env.delenv(key)


def test_every_role_gets_the_servers_addresses_and_production_its_secret(report: dict[str, Any]) -> None:
    for workload in report["workloads"]:
        env = workload["env"]
        for key in ("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "NEWSFLOW_MONGO__URI", "NEWSFLOW_ELASTICSEARCH__URL"):
            assert env.get(key), f"{workload['source']} {workload['name']} does not set {key}"
        if workload["source"] == "k8s/production":
            assert env["NEWSFLOW_ENVIRONMENT"] == "production"
            assert env["NEWSFLOW_ADMIN_KEY"] is None, "the admin key must come from a Secret"


def test_index_workers_never_outnumber_the_partitions_of_articles(report: dict[str, Any]) -> None:
    workers = [a for a in report["autoscalers"] if a["target"] == "index-worker"]
    assert {a["source"] for a in workers} == {"k8s/local", "k8s/production"}
    for autoscaler in workers:
        assert autoscaler["max"] <= ARTICLES.partitions, f"{autoscaler}: idle consumers beyond {ARTICLES.partitions}"


def test_the_gateway_and_index_api_autoscale(report: dict[str, Any]) -> None:
    for source in ("k8s/local", "k8s/production"):
        targets = {a["target"] for a in report["autoscalers"] if a["source"] == source}
        assert {"gateway-api", "index-api", "index-worker"} <= targets, source


def test_comments_background_work_runs_in_its_own_roles(report: dict[str, Any]) -> None:
    """The comments api answers HTTP only; the projection and the worker are roles of their own."""
    for source in ("compose", "k8s/local", "k8s/production"):
        commands = {
            w["name"]: w["command"]
            for w in report["workloads"]
            if w["source"] == source and w["settings"] == "comments"
        }
        roles = {command[-1] for command in commands.values()}
        assert roles == {"api", "projection", "worker"}, (source, commands)


# Each mistake below is made in a copy of the artefacts; the check must name it.
MISTAKES = [
    pytest.param(
        "deploy/k8s/base/ingest.yaml",
        "terminationGracePeriodSeconds: 30",
        "terminationGracePeriod: 30",
        'unknown field "spec.template.spec.terminationGracePeriod"',
        id="k8s-unknown-field",
    ),
    pytest.param(
        "deploy/k8s/base/comments.yaml",
        "timeoutSeconds: 3",
        'timeoutSeconds: "3"',
        "strict decoding",
        id="k8s-wrong-type",
    ),
    pytest.param(
        "deploy/k8s/base/index.yaml",
        "name: index-worker}",
        "name: index-workers}",
        "scaleTargetRef apps/v1 Deployment/index-workers is not a Deployment",
        id="k8s-hpa-target",
    ),
    pytest.param(
        "deploy/k8s/base/gateway.yaml",
        "httpGet: {path: /readyz, port: http}",
        "httpGet: {path: /healthz, port: http}",
        "readiness probe must GET /readyz",
        id="k8s-readiness-path",
    ),
    pytest.param(
        "docker-compose.yml",
        "      comments-api: {condition: service_healthy}",
        "      comment-api: {condition: service_healthy}",
        "comment-api",
        id="compose-depends-on-missing-service",
    ),
    pytest.param(
        "docker-compose.yml",
        "    healthcheck:",
        "    helthcheck:",
        "services.kafka.helthcheck",
        id="compose-unknown-key",
    ),
    pytest.param(
        "deploy/local/Procfile",
        "demo:",
        "index-reindex: .venv/bin/newsflow-index reindex\ndemo:",
        "no service for Procfile role index-reindex",
        id="procfile-role-without-service",
    ),
    pytest.param(
        "deploy/local/versions.env",
        "ES_VERSION=9.5.4",
        "ES_VERSION=9.5.5",
        "must pin ES_VERSION=9.5.5",
        id="version-drift",
    ),
    pytest.param(
        "deploy/docker/service.Dockerfile",
        "FROM ${PYTHON_IMAGE} AS build",
        "FROM ${PYTHON_IMAGE} as build",
        "lint FromAsCasing",
        id="dockerfile-lint",
    ),
    pytest.param(
        "deploy/docker/service.Dockerfile",
        "COPY services/${SERVICE} services/${SERVICE}",
        "COPY service/${SERVICE} services/${SERVICE}",
        "COPY service/ingest: not in the build context",
        id="dockerfile-copy-source",
    ),
    pytest.param(".dockerignore", "docker-compose.yml", "docker-compose.yml\nlibs", "COPY libs", id="dockerignore"),
]


@pytest.mark.parametrize(("path", "old", "new", "message"), MISTAKES)
def test_the_check_rejects_a_broken_artefact(tmp_path: Path, path: str, old: str, new: str, message: str) -> None:
    for name in ARTEFACTS:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=NOT_COPIED)
        else:
            shutil.copy2(source, target)
    broken = tmp_path / path
    text = broken.read_text()
    assert old in text, f"{path} no longer contains {old!r}: update this case"
    broken.write_text(text.replace(old, new, 1))

    result = run_check(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
