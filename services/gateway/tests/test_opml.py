"""OPML: readers' files (Feedly, Inoreader, NetNewsWire, Thunderbird conventions) imported through the
admin API into a real ingest, every entry reported; hundreds of feeds; export read back by listparser."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import listparser
import pytest
from fastapi.testclient import TestClient

from newsflow_gateway.compat import opml
from newsflow_gateway.main import create_app
from newsflow_gateway.settings import ServicesSettings, Settings
from newsflow_kit.errors import InvalidInput
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, settings_env

from .conftest import dead_url

FILES = Path(__file__).parent / "opml"


def test_reading_nested_outlines_in_document_order() -> None:
    entries = opml.read((FILES / "netnewswire.opml").read_bytes())
    assert [(e.n, e.title, e.folders) for e in entries] == [
        (1, "Daring Fireball", ()),
        (2, "Six Colors", ("Blogs",)),
        (3, "Nested feed", ("Blogs", "Deep")),
    ]
    assert entries[2].language == "de" and entries[1].homepage == "https://sixcolors.example/"


@pytest.mark.parametrize(
    "document",
    [b"", b"<html><body/></html>", b"<opml><head/></opml>", b"not xml",
     b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body><outline text="&a;" xmlUrl="https://a.example/"/></body></opml>'],
)  # fmt: skip
def test_unreadable_documents_are_refused(document: bytes) -> None:
    with pytest.raises(InvalidInput):
        opml.read(document)


def test_url_problems_and_feed_identity() -> None:
    assert opml.url_problem("https://a.example/feed") is None
    assert opml.url_problem("gopher://a.example/") == "only http and https feeds can be polled"
    assert opml.url_problem("") == "no xmlUrl"
    assert opml.url_problem("https://exa mple.example/") is not None
    assert opml.url_problem("https://a.example:99999/") is not None
    assert opml.same_feed("HTTPS://LWN.example/x/") == opml.same_feed("https://lwn.example/x")


@pytest.fixture
def ingest(
    service_process: Callable[..., ServiceProcess], kafka_topics: KafkaSettings, mongo_database: MongoSettings
) -> ServiceProcess:
    return service_process("newsflow-ingest", "api", env=settings_env(kafka=kafka_topics, mongo=mongo_database))


@pytest.fixture
def admin_client(
    make_settings: Callable[..., Settings], ingest: ServiceProcess, admin_headers: dict[str, str]
) -> Iterator[TestClient]:
    services = ServicesSettings(ingest_url=ingest.url, index_url=dead_url(), comments_url=dead_url())
    with TestClient(create_app(make_settings(services=services)), headers=admin_headers) as client:
        yield client


def _import(client: TestClient, name: str, **params: Any) -> dict[str, Any]:
    answer = client.post(
        "/v1/admin/sources:import",
        content=(FILES / name).read_bytes(),
        params=params,
        headers={"Content-Type": "text/x-opml"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_import_reports_every_entry(admin_client: TestClient) -> None:
    feedly = _import(admin_client, "feedly.opml")
    assert [i["status"] for i in feedly["items"]] == ["created", "created", "created", "duplicate"]
    assert feedly["items"][3]["detail"] == "the same feed as entry 1"
    assert feedly["items"][0]["folders"] == ["Tech"] and feedly["counts"] == {"created": 3, "duplicate": 1}

    inoreader = _import(admin_client, "inoreader.xml", language="fr")
    assert [i["status"] for i in inoreader["items"]] == ["created", "created", "invalid", "invalid"]
    assert "http and https" in inoreader["items"][2]["detail"]

    again = _import(admin_client, "feedly.opml")
    assert [i["status"] for i in again["items"]] == ["exists"] * 4
    assert again["items"][0]["source_id"] == feedly["items"][0]["source_id"]

    thunderbird = _import(admin_client, "thunderbird.opml", dry_run="true")
    assert [i["status"] for i in thunderbird["items"]] == ["planned", "planned", "duplicate", "invalid"]
    _import(admin_client, "thunderbird.opml")
    nnw = _import(admin_client, "netnewswire.opml")
    assert nnw["counts"] == {"created": 3}

    sources = {s["feed_url"]: s for s in admin_client.get("/v1/admin/sources").json()["items"]}
    assert len(sources) == 3 + 2 + 2 + 3
    lemonde = sources["https://www.lemonde.example/rss/une.xml"]
    assert lemonde["name"] == "Le Monde" and lemonde["language"] == "fr" and lemonde["kind"] == "feed"
    assert lemonde["homepage"].startswith("https://www.lemonde.example")
    assert sources["https://nested.example/atom.xml"]["language"] == "de"


def test_hundreds_of_feeds_with_name_clashes(admin_client: TestClient) -> None:
    outlines = []
    for folder in range(10):
        inner = "".join(
            f'<outline type="rss" text="Feed {n % 50}" xmlUrl="https://f{n}.example/feed.xml"/>'
            for n in range(folder * 30, folder * 30 + 30)
        )
        outlines.append(
            f'<outline text="Folder {folder}">{inner}<outline text="again" xmlUrl="https://f0.example/feed.xml"/></outline>'
        )
    document = f'<?xml version="1.0"?><opml version="2.0"><head/><body>{"".join(outlines)}</body></opml>'
    answer = admin_client.post("/v1/admin/sources:import", content=document, headers={"Content-Type": "text/x-opml"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["total"] == 310 and report["counts"] == {"created": 300, "duplicate": 10}
    names = [s["name"] for s in admin_client.get("/v1/admin/sources").json()["items"]]
    assert len(names) == len(set(names)) == 300  # "Feed 7" six times: named after their hosts


def test_export_is_read_by_listparser(admin_client: TestClient) -> None:
    _import(admin_client, "feedly.opml")
    answer = admin_client.get("/v1/admin/sources:export")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/x-opml")
    parsed = listparser.parse(answer.content)
    assert not parsed.bozo and parsed.version == "opml2"
    assert {f.url for f in parsed.feeds} == {
        "https://feeds.arstechnica.example/arstechnica/index",
        "https://www.theverge.example/rss/index.xml",
        "https://feeds.bbci.example/news/world/rss.xml",
    }
    assert {f.title for f in parsed.feeds} == {"Ars Technica", "The Verge", "BBC News - World"}


def test_admin_only_and_bad_documents(admin_client: TestClient) -> None:
    anonymous = admin_client.post("/v1/admin/sources:import", content=b"<opml/>", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    bad = admin_client.post("/v1/admin/sources:import", content=b"<rss/>", headers={"Content-Type": "text/xml"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


def test_cli_imports_and_exports(
    ingest: ServiceProcess, kafka_topics: KafkaSettings, mongo_database: MongoSettings, tmp_path: Path
) -> None:
    env = {**settings_env(kafka=kafka_topics, mongo=mongo_database), "NEWSFLOW_SERVICES__INGEST_URL": ingest.url}
    exe = str(Path(sys.executable).parent / "newsflow-gateway")
    run = subprocess.run(
        [exe, "opml", "import", str(FILES / "inoreader.xml"), "--language", "fr"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line.get("status") for line in lines[:-1]] == ["created", "created", "invalid", "invalid"]
    assert lines[-1] == {"total": 4, "counts": {"created": 2, "invalid": 2}}
    out = tmp_path / "sources.opml"
    export = subprocess.run(
        [exe, "opml", "export", "--output", str(out)],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert {f.url for f in listparser.parse(out.read_bytes()).feeds} == {
        "https://www.lemonde.example/rss/une.xml",
        "https://www.tagesschau.example/xml/rss2/",
    }
