"""test_connection for HaloPSA: say exactly which part of the connection is wrong.

Steps, each only once the previous one holds:
1. The connection has an instance URL, a tenant, a client ID, a secret and a scope.
2. The token (api.py): unreachable instance; no Authorisation Server at the token URL; Halo's answers to a token
   request (notes = shared/apis/halopsa.md §1; the simulator's auth.py): a tenant it does not host
   (`invalid_request` naming the tenant); `invalid_client` (the client ID or the secret: an authorisation server
   does not say which, so neither can this; both are named); `unsupported_grant_type` (the application does not
   use client credentials); `invalid_scope`, narrowed to the exact scopes by asking for each one alone (a few
   token requests, made only here).
3. The scope asked for must cover what SeatSync uses (NEEDED_SCOPES, or `all` / `all:standard`), else the
   missing ones are named.
4. One one-record page of Client, ClientContract and RecurringInvoice: a 401 here is a token the API will not
   take (a token without an API scope), a 403 the permission of the application's agent, named by scope.
   `edit:invoices` cannot be proved without writing; step 3 and the token's granted scope stand for it.
"""

from __future__ import annotations

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    NotFoundError,
    PermissionDeniedError,
    UnreachableError,
)
from bot.connectors.psa.halopsa.api import NEEDED_SCOPES, PAGE_SIZE, SYSTEM, HaloApi, TokenRefused
from bot.domain.records import ConnectionCheck

_BROAD = {"all", "all:standard"}
_PROBES = (("Client", "clients", "clients", {"includeinactive": "true"}),
           ("ClientContract", "contracts", "contracts", {}), ("RecurringInvoice", "invoices", "recurring invoices", {}))
_WHERE = "Halo: Configuration > Integrations > Halo API"


def missing_scopes(scope: str) -> list[str]:
    asked = set(scope.split())
    return [] if asked & _BROAD else [needed for needed in NEEDED_SCOPES if needed not in asked]


async def check_connection(api: HaloApi) -> ConnectionCheck:
    login = api.login
    facts: dict[str, str] = {"instance": api.base, "tenant": login.tenant, "client_id": login.client_id,
                             "scope_asked": login.scope}

    def failed(detail: str) -> ConnectionCheck:
        return ConnectionCheck(ok=False, system=SYSTEM, detail=detail, facts=facts)

    empty = [label for label, value in (("the tenant", login.tenant), ("the client ID", login.client_id),
                                        ("the client secret", login.client_secret)) if not value.strip()]
    if empty:
        return failed(f"The HaloPSA connection is incomplete: enter {', '.join(empty)}.")
    if not login.scope.split():
        return failed("The HaloPSA connection asks for no scope: a token without one is refused by every API "
                      f"call. Enter the scopes, e.g. {' '.join(NEEDED_SCOPES)}.")
    try:
        facts["token_url"] = await api.token_url()
        token = await api.token()
    except TokenRefused as exc:
        return failed(await _token_refused(api, exc))
    except UnreachableError as exc:
        return failed(f"Cannot reach HaloPSA at {api.base}: {exc.vendor_message}. Check the instance URL "
                      "(e.g. https://yourcompany.halopsa.com).")
    except NotFoundError as exc:
        return failed(f"No Halo Authorisation Server answers at {facts.get('token_url', api.base)} (HTTP 404): "
                      f"check the instance URL. Halo said: {exc.vendor_message}")
    except ConnectorError as exc:
        return failed(f"HaloPSA did not issue a token: {exc.describe()}")
    facts["scope_granted"] = token.scope or "(not said)"
    missing = missing_scopes(login.scope)
    if missing:
        return failed(f"The scope asked for lacks {', '.join(missing)}, which SeatSync needs to read clients, "
                      f"contracts and recurring invoices and to update their lines. Ask for "
                      f"\"{' '.join(NEEDED_SCOPES)}\" (or all).")
    for entity, collection, what, params in _PROBES:
        try:
            response = await api.call("GET", entity, operation="check", idempotent=True,
                                      params={**params, "pageinate": "true", "page_size": 1, "page_no": 1})
            body = response.json()
        except AuthenticationError as exc:
            return failed(f"HaloPSA issued a token but its API refused it when reading {what} (HTTP 401): the "
                          f"application's token carries no usable API scope. Halo said: {exc.vendor_message}")
        except PermissionDeniedError as exc:
            return failed(f"HaloPSA refused to list {what} (HTTP 403): give the API application (and the agent it "
                          f"acts as) that permission in {_WHERE}. {exc.vendor_message}")
        except ConnectorError as exc:
            return failed(f"HaloPSA did not answer a request for {what}: {exc.describe()}")
        except ValueError:
            return failed(f"HaloPSA answered the {what} list with something that is not JSON")
        count = body.get("record_count") if isinstance(body, dict) else None
        if not isinstance(count, int) or not isinstance(body.get(collection), list):
            return failed(f"HaloPSA answered the {what} list with {str(body)[:120]!r}, not a page of {collection}")
        facts[collection] = str(count)
    facts["page_size"] = str(PAGE_SIZE)
    return ConnectionCheck(ok=True, system=SYSTEM, facts=facts, detail=(
        f"Connected to HaloPSA tenant {login.tenant} at {api.base} as API application {login.client_id} "
        f"({facts['clients']} clients, {facts['contracts']} contracts, {facts['invoices']} recurring invoices)."))


async def _token_refused(api: HaloApi, exc: TokenRefused) -> str:
    login = api.login
    said = f"Halo said: {exc.vendor_message}"
    if exc.error == "invalid_client":
        return (f"HaloPSA rejected the client ID {login.client_id!r} or its secret (invalid_client; Halo does not "
                f"say which of the two): copy both again from the API application in {_WHERE}, and check that it "
                f"belongs to tenant {login.tenant!r}. {said}")
    if exc.error == "invalid_request" and "tenant" in exc.vendor_message.casefold():
        return (f"HaloPSA does not host the tenant {login.tenant!r} at {api.base}: check the tenant name shown under "
                f"{_WHERE} > API Details, and the instance URL. {said}")
    if exc.error == "unsupported_grant_type":
        return (f"The HaloPSA API application does not allow client credentials: set its authentication method to "
                f"\"Client ID and Secret (services)\" in {_WHERE}. {said}")
    if exc.error == "invalid_scope":
        refused = await _refused_scopes(api)
        which = f"the scope(s) {', '.join(refused)}" if refused else f"the scopes {login.scope!r}"
        return (f"HaloPSA will not grant {which} to this API application: allow them under its permissions in "
                f"{_WHERE}, or ask for fewer (SeatSync needs {' '.join(NEEDED_SCOPES)}). {said}")
    return f"HaloPSA refused a token (HTTP {exc.status}): {exc.vendor_message}"


async def _refused_scopes(api: HaloApi) -> list[str]:
    refused: list[str] = []
    for scope in api.login.scope.split():
        try:
            await api.fetch_token(scope)
        except TokenRefused as exc:
            if exc.error == "invalid_scope":
                refused.append(scope)
        except ConnectorError:
            return []
    return refused
