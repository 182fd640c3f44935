"""Operations source: bundled document, schema_url, lazy server schema."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from arkindex_worker.api import ArkindexClient, ClientError, SchemaError
from arkindex_worker.api.schema import (
    BUNDLED_SCHEMA,
    bundled_operations,
    parse_document,
)
from tests.conftest import BASE_URL, api_url

REPO = Path(__file__).resolve().parents[2]
# The specification's operation tables, as committed (scripts/spec_snapshot.py)
SPEC_OPERATIONS = REPO / "tests" / "data" / "spec" / "operations.json"
SCHEMA_URL = "http://testserver/api/v1/openapi/?format=json"

SMALL_SCHEMA = {
    "openapi": "3.0.0",
    "servers": [{"url": "http://testserver", "x-csrf-cookie": "server.csrf"}],
    "paths": {
        "/api/v1/thing/{id}/": {
            "get": {"operationId": "RetrieveThing", "x-paginated": False},
        }
    },
}


def spec_tables() -> dict:
    return json.loads(SPEC_OPERATIONS.read_text(encoding="utf-8"))


def test_bundled_document_covers_every_operation():
    operations = bundled_operations()
    for name, entry in spec_tables().items():
        operation = operations[name]
        assert operation.method == entry["method"]
        assert operation.url == "/api/v1/" + entry["path"]
        query = {n for n, p in operation.parameters.items() if p.location == "query"}
        assert query == set(entry["query"])
        assert (operation.body_name is not None) is (entry["body"] is not None)
        assert operation.paginated is bool(entry["paginated"])
        assert operation.download is bool(entry.get("download"))
    assert len(operations) == len(spec_tables())


def test_bundled_document_is_up_to_date():
    spec = importlib.util.spec_from_file_location(
        "build_openapi", REPO / "scripts/build_openapi.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    operations = {
        name: {key: entry.get(key) for key in module._SIGNIFICANT_KEYS}
        for name, entry in spec_tables().items()
    }
    rendered = json.dumps(module.build_document(operations), indent=1) + "\n"
    assert rendered == BUNDLED_SCHEMA.read_text(encoding="utf-8")


def test_paginated_operations_declare_their_mode_parameter():
    for operation in bundled_operations().values():
        if operation.paginated:
            assert {"page", "cursor"} & set(operation.parameters), operation.id
        if "cursor" in operation.parameters:
            assert "with_count" in operation.parameters, operation.id


@pytest.mark.parametrize(
    "dump",
    [
        pytest.param(json.dumps, id="json"),
        pytest.param(yaml.safe_dump, id="yaml"),
    ],
)
def test_schema_url_local_file_replaces_bundled(tmp_path, mock_api, dump):
    path = tmp_path / "schema.txt"
    path.write_text(dump(SMALL_SCHEMA))
    client = ArkindexClient(base_url=BASE_URL, schema_url=str(path))
    assert list(client.document.links) == ["RetrieveThing"]
    assert client.auth.csrf_cookie == "server.csrf"
    assert len(mock_api.calls) == 0


def test_schema_url_file_scheme(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SMALL_SCHEMA))
    client = ArkindexClient(
        base_url=BASE_URL, schema_url=path.as_uri(), csrf_cookie="mine"
    )
    assert list(client.document.links) == ["RetrieveThing"]
    assert client.auth.csrf_cookie == "mine"


def test_schema_url_fetched(mock_api):
    mock_api.get("http://schemas/openapi.json", json=SMALL_SCHEMA)
    client = ArkindexClient(
        base_url="http://elsewhere/", schema_url="http://schemas/openapi.json"
    )
    assert list(client.document.links) == ["RetrieveThing"]
    assert client.auth.csrf_cookie == "arkindex.csrf"
    request = mock_api.calls[0].request
    assert (
        request.headers["Accept"]
        == "application/vnd.oai.openapi+json, application/json"
    )
    assert request.req_kwargs["timeout"] == (30, 60)


@pytest.mark.parametrize(
    ("register", "source"),
    [
        pytest.param(
            lambda mock: mock.get("http://s/x", status=404), "http://s/x", id="http-404"
        ),
        pytest.param(
            lambda mock: mock.get("http://s/x", body="{"), "http://s/x", id="not-json"
        ),
        pytest.param(
            lambda mock: mock.get("http://s/x", json=[1]), "http://s/x", id="no-paths"
        ),
        pytest.param(lambda mock: None, "/nonexistent/schema.json", id="missing-file"),
    ],
)
def test_schema_url_failure(mock_api, register, source):
    register(mock_api)
    with pytest.raises(SchemaError) as e:
        ArkindexClient(base_url=BASE_URL, schema_url=source)
    assert str(e.value) == f"Could not retrieve a proper OpenAPI schema from {source}"
    assert e.value.__cause__ is not None


def test_unknown_operation_loads_server_schema_once(client, mock_api):
    mock_api.get(SCHEMA_URL, json=SMALL_SCHEMA)
    mock_api.get(api_url("thing/7/"), json={"id": 7})
    assert client.request("RetrieveThing", id=7) == {"id": 7}
    with pytest.raises(ClientError) as e:
        client.request("Unknown")
    with pytest.raises(ClientError):
        client.request("Unknown")
    assert str(e.value) == "Operation ID 'Unknown' not found in schema."
    assert e.value.messages[0].code == "invalid-operation"
    assert [call.request.url for call in mock_api.calls] == [
        SCHEMA_URL,
        api_url("thing/7/"),
    ]
    # The bundled operations stay available.
    assert "RetrieveElement" in client.document.links


def test_lazy_schema_failure_gives_client_error(client, mock_api, caplog):
    mock_api.get(SCHEMA_URL, status=500)
    with pytest.raises(
        ClientError, match="^Operation ID 'Unknown' not found in schema.$"
    ):
        client.lookup_operation("Unknown")
    with pytest.raises(ClientError):
        client.lookup_operation("Unknown")
    assert len(mock_api.calls) == 1
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith(f"Could not retrieve a proper OpenAPI schema from {SCHEMA_URL}")
    )


def test_unknown_keyword_accepted_by_server_schema(client, mock_api):
    schema = {
        "paths": {
            "/api/v1/element/{id}/": {
                "get": {
                    "operationId": "RetrieveElement",
                    "parameters": [{"name": "fields", "in": "query"}],
                }
            }
        }
    }
    mock_api.get(SCHEMA_URL, json=schema)
    mock_api.get(api_url("element/1/?fields=a"), json={})
    assert client.request("RetrieveElement", id=1, fields="a") == {}
    assert mock_api.calls[1].request.url == api_url("element/1/?fields=a")


def test_known_calls_never_load_schema(client, mock_api):
    mock_api.get(api_url("element/1/"), json={})
    client.request("RetrieveElement", id=1)
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param({"json": SMALL_SCHEMA}, False, id="server-lacks-it"),
        pytest.param({"status": 404}, True, id="schema-unavailable"),
    ],
)
def test_server_has_operation(client, mock_api, answer, expected):
    mock_api.get(SCHEMA_URL, **answer)
    assert client.server_has_operation("RetrieveSecret") is expected
    assert client.server_has_operation("RetrieveSecret") is expected
    assert len(mock_api.calls) == 1


def test_server_has_operation_uses_schema_url(tmp_path, mock_api):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SMALL_SCHEMA))
    client = ArkindexClient(base_url=BASE_URL, schema_url=str(path))
    assert client.server_has_operation("RetrieveThing") is True
    assert client.server_has_operation("RetrieveSecret") is False
    assert len(mock_api.calls) == 0


def test_parse_document_details():
    document = {
        "components": {
            "parameters": {"Page": {"name": "page", "in": "query"}},
            "schemas": {"ElementCreate": {"type": "object"}},
        },
        "paths": {
            "/api/v1/a/{id}/{other}/": {
                "parameters": [{"name": "id", "in": "path", "required": True}],
                "servers": [{"url": "http://files.example/"}],
                "post": {
                    "operationId": "A",
                    "x-paginated": True,
                    "parameters": [
                        {"$ref": "#/components/parameters/Page"},
                        {"name": "h", "in": "header", "required": True},
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ElementCreate"}
                            }
                        }
                    },
                },
                "put": {
                    "operationId": "B",
                    "requestBody": {
                        "x-name": "payload",
                        "content": {"application/json": {"schema": {}}},
                    },
                },
                "patch": {
                    "operationId": "C",
                    "requestBody": {"content": {"multipart/form-data": {}}},
                },
            }
        },
    }
    operations = parse_document(document)
    a = operations["A"]
    assert a.url == "http://files.example/api/v1/a/{id}/{other}/"
    assert list(a.parameters) == ["id", "page", "h", "other"]
    assert a.parameters["other"].required and a.parameters["other"].location == "path"
    assert not a.parameters["page"].required
    assert a.parameters["h"].required
    assert a.body_name == "elementcreate"
    assert a.accepts("body") and a.accepts("elementcreate")
    assert a.paginated is True
    assert operations["B"].body_name == "payload"
    assert operations["B"].paginated is None
    assert operations["C"].body_name is None


def test_parse_document_invalid():
    with pytest.raises(SchemaError, match="Invalid OpenAPI document"):
        parse_document(
            {"paths": {"/x/": {"get": {"operationId": "X", "parameters": [{}]}}}}
        )


def test_download_flag_kept_for_server_schema(tmp_path):
    schema = {
        "paths": {"/api/v1/export/{id}/": {"get": {"operationId": "DownloadExport"}}}
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    client = ArkindexClient(base_url=BASE_URL, schema_url=str(path))
    assert client.document.links["DownloadExport"].download is True
