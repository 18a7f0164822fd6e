"""Keys from the provider's JWKS URL: fetched with a timeout, cached, and an outage told
apart from a bad token. A real HTTP server on this machine plays the provider."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from checkout.orders.customer_tokens import (
    JWKS_FETCH_TIMEOUT_SECONDS,
    CustomerTokens,
    IdentityUnavailable,
    KeyEndpoint,
    TokenRefused,
)
from checkout.processes import free_port
from tests.support.identity import AUDIENCE, ISSUER, rsa_provider


class Provider(ThreadingHTTPServer):
    fetches = 0


class JwksHandler(BaseHTTPRequestHandler):
    server: Provider

    def do_GET(self) -> None:
        self.server.fetches += 1
        body = json.dumps(rsa_provider().jwks()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def tokens_from(url: str) -> CustomerTokens:
    return CustomerTokens(keys=KeyEndpoint(url), issuer=ISSUER, audience=AUDIENCE)


def jwks_url(server: Provider) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


async def test_keys_are_fetched_once_for_many_tokens(provider: Provider) -> None:
    tokens = tokens_from(jwks_url(provider))

    names = [await tokens.customer_id(rsa_provider().token(name)) for name in ("a", "b", "c")]

    assert names == ["a", "b", "c"]
    assert provider.fetches == 1


async def test_made_up_key_ids_do_not_make_a_fetch_each(provider: Provider) -> None:
    tokens = tokens_from(jwks_url(provider))
    await tokens.customer_id(rsa_provider().token("a"))

    for attempt in range(10):
        with pytest.raises(TokenRefused, match="keys"):
            await tokens.customer_id(rsa_provider().token("a", key_id=f"made-up-{attempt}"))

    assert provider.fetches == 1  # within the cooldown after the first fetch


async def test_a_malformed_token_is_refused_without_a_fetch(provider: Provider) -> None:
    with pytest.raises(TokenRefused, match="well-formed"):
        await tokens_from(jwks_url(provider)).customer_id("not.a.jwt")
    assert provider.fetches == 0


async def test_an_unreachable_provider_is_an_outage_not_a_bad_token() -> None:
    tokens = tokens_from(f"http://127.0.0.1:{free_port()}/jwks.json")

    with pytest.raises(IdentityUnavailable):
        await tokens.customer_id(rsa_provider().token("a"))


def test_the_fetch_has_a_timeout() -> None:
    endpoint = KeyEndpoint("https://idp.example/jwks.json")
    assert endpoint._client.timeout == JWKS_FETCH_TIMEOUT_SECONDS <= 10
