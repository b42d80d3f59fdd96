"""The API server's token (server/auth.py): made once and kept, which header carries it,
and the 401s (mutation testing found the x-api-key path and "a new token on every start"
untested). The keyring here is a dict in place of keys.get_key / set_key: the real Secret
Service path is tests/ui/server/test_server_settings.py's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from assistant import keys
from assistant.server import auth
from assistant.server.app import build_app
from assistant.server.models import ModelHost
from assistant.settings import Settings


@pytest.fixture
def keyring(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    store: dict[str, str] = {}
    monkeypatch.setattr(keys, "get_key", lambda provider, timeout_s=0: store.get(provider))
    monkeypatch.setattr(keys, "set_key", lambda provider, key, timeout_s=0: store.__setitem__(provider, key))
    return store


def test_a_token_is_made_once_and_then_kept(keyring: dict[str, str]) -> None:
    first = auth.get_or_create_token()
    assert keyring == {"api-server-token": first}
    assert auth.get_or_create_token() == first  # the next start keeps it: clients keep working
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first)  # 32 random bytes


def test_a_new_token_replaces_the_old_one(keyring: dict[str, str]) -> None:
    old = auth.get_or_create_token()
    new = auth.new_token()
    assert new != old and keyring["api-server-token"] == new and auth.get_or_create_token() == new


def test_an_empty_stored_token_is_replaced(keyring: dict[str, str]) -> None:
    keyring["api-server-token"] = ""
    assert len(auth.get_or_create_token()) == 43


@pytest.mark.parametrize(("headers", "token"), [
    ({"authorization": "Bearer abc"}, "abc"),
    ({"authorization": "bearer  abc "}, "abc"),
    ({"authorization": "BEARER abc", "x-api-key": "other"}, "abc"),
    ({"x-api-key": " key "}, "key"),
    ({"authorization": "Basic abc", "x-api-key": "key"}, "key"),
    ({"authorization": "Bearer ", "x-api-key": "key"}, "key"),
    ({"authorization": "Bearer"}, ""),
    ({"authorization": "abc"}, ""),
    ({}, ""),
])
def test_the_token_comes_from_either_header(headers: dict[str, str], token: str) -> None:
    assert auth.token_from_headers(headers) == token


def test_matching_is_exact_and_an_empty_token_never_matches() -> None:
    assert auth.matches("tøken", "tøken") is True
    assert auth.matches("token", "tokeN") is False and auth.matches("toke", "token") is False
    assert auth.matches("", "") is False and auth.matches("", "token") is False


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(build_app(ModelHost(Settings(), tmp_path), "s3cret"))


def test_both_headers_open_the_server(client: TestClient) -> None:
    for headers in ({"Authorization": "Bearer s3cret"}, {"x-api-key": "s3cret"}):
        r = client.get("/v1/models", headers=headers)
        assert r.status_code == 200 and r.json() == {"object": "list", "data": []}


@pytest.mark.parametrize(("headers", "says"), [({}, "No API token was sent."), ({"x-api-key": "nope"}, "The API token is wrong.")])
def test_without_the_token_each_api_gets_its_own_401(client: TestClient, headers: dict[str, str], says: str) -> None:
    r = client.get("/v1/models", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    err = r.json()["error"]
    assert err["message"].startswith(says) and "Authorization: Bearer TOKEN" in err["message"]
    assert (err["type"], err["code"]) == ("authentication_error", "invalid_api_key")
    r = client.post("/v1/messages", headers=headers, json={})
    assert r.status_code == 401
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "authentication_error"
    assert r.json()["error"]["message"].startswith(says)


def test_a_server_without_a_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a token"):
        build_app(ModelHost(Settings(), tmp_path), "")
