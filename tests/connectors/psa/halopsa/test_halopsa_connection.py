"""Test connection against the HaloPSA simulator over real HTTP: the exact diagnosis of a wrong tenant, client ID or
secret, scope, grant and instance URL, through the connector and through bot.connectors.checks."""

from __future__ import annotations

import pytest

from bot.connectors.checks import check_connection
from bot.connectors.psa.halopsa.api import NEEDED_SCOPES


async def check(halo, **changes) -> object:
    client = halo.client(**changes)
    try:
        return await client.test_connection()
    finally:
        await client.aclose()


async def test_a_good_connection_says_what_it_reached(halo) -> None:
    result = await check(halo)
    assert result.ok, result.detail
    assert result.detail == (f"Connected to HaloPSA tenant sandboxmsp at {halo.base_url} as API application "
                             f"{halo.world.credentials.halopsa_client_id} (3 clients, 3 contracts, 3 recurring "
                             "invoices).")
    assert result.facts["token_url"] == f"{halo.base_url}/auth/token" and result.facts["scope_granted"] == "all"
    assert halo.world.credentials.halopsa_client_secret not in str(result.facts)


async def test_the_minimum_scopes_are_enough(halo) -> None:
    halo.world.halopsa.application.granted_scopes = " ".join(NEEDED_SCOPES)
    result = await check(halo, scope=" ".join(NEEDED_SCOPES))
    assert result.ok, result.detail


@pytest.mark.parametrize(("changes", "words"), [
    ({"tenant": "someoneelse"}, "HaloPSA does not host the tenant 'someoneelse' at "),
    ({"client_secret": "not-the-secret"}, "HaloPSA rejected the client ID"),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, "HaloPSA rejected the client ID '00000000-0000-0000"),
    ({"scope": "read:customers read:tickets"},
     "The scope asked for lacks read:contracts, read:invoices, edit:invoices"),
    ({"scope": "read:customers nonsense:scope"}, "HaloPSA will not grant the scope(s) nonsense:scope to this API"),
], ids=["tenant", "secret", "client-id", "scope-lacking", "scope-unknown"])
async def test_each_wrong_part_is_named(halo, changes, words) -> None:
    result = await check(halo, **changes)
    assert not result.ok and result.detail.startswith(words), result.detail


async def test_a_scope_the_application_is_not_granted_is_named_exactly(halo) -> None:
    halo.world.halopsa.application.granted_scopes = "read:customers read:contracts read:invoices"
    result = await check(halo, scope=" ".join(NEEDED_SCOPES))
    assert not result.ok
    assert result.detail.startswith("HaloPSA will not grant the scope(s) edit:invoices to this API application")


async def test_the_secret_and_the_client_id_read_the_same_and_both_are_named(halo) -> None:
    secret = await check(halo, client_secret="wrong")
    client_id = await check(halo, client_id="wrong-id")
    assert "or its secret (invalid_client; Halo does not say which of the two)" in secret.detail
    assert "or its secret (invalid_client; Halo does not say which of the two)" in client_id.detail
    assert "wrong" not in secret.detail.replace("'wrong-id'", "")  # the secret typed is never echoed


async def test_an_instance_that_is_not_halo_and_one_that_is_not_there(halo, unused_tcp_port) -> None:
    elsewhere = await check(halo, base_url=halo.base_url.replace("/halopsa", "/nothing"))
    assert not elsewhere.ok and elsewhere.detail.startswith("No Halo Authorisation Server answers at ")
    gone = await check(halo, base_url=f"http://127.0.0.1:{unused_tcp_port}")
    assert not gone.ok and gone.detail.startswith(f"Cannot reach HaloPSA at http://127.0.0.1:{unused_tcp_port}")


async def test_the_check_runs_through_the_registry_with_secrets_masked(halo) -> None:
    connection = halo.connection(client_secret="wrong-secret-4711")
    result = await check_connection(connection)
    assert not result.ok and "wrong-secret-4711" not in result.detail + str(result.facts)
    assert result.detail.startswith("HaloPSA rejected the client ID")
    missing = await check_connection(halo.connection(tenant=""))
    assert not missing.ok and missing.detail == "the HaloPSA connection lacks option tenant"
