"""test_connection for ConnectWise: say exactly which part of the connection is wrong.

Order, each step only once the previous one holds:
1. companyinfo on the site (public): unreachable site, a site that is not ConnectWise, or a company id
   the site does not know (it answers `null`).
2. `company/companies/count`: the cheapest authenticated call. 401 = keys rejected; 403 = the API
   member's security role; a 400 naming clientId = the clientId header (missing or not registered,
   per the Developer Guide the header is required on every call); 404 = no API at that codebase (on
   cloud a wrong login can also surface as 404, notes B3).
3. `finance/agreements/count` and `procurement/catalog/count`: the other two read permissions SeatSync
   needs. Writing additions needs "Agreements: Edit" too; no read can prove that without writing.
"""

from __future__ import annotations

from bot.connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedReplyError,
    NotFoundError,
    PermissionDeniedError,
    RejectedError,
    UnreachableError,
)
from bot.connectors.psa.connectwise.api import API_VERSION, SYSTEM, ConnectWiseApi
from bot.domain.records import ConnectionCheck

_READS = (("company/companies/count", "companies", "Companies > Company Maintenance: Inquire"),
          ("finance/agreements/count", "agreements", "Finance > Agreements: Inquire"),
          ("procurement/catalog/count", "catalog items", "Procurement > Product Catalog: Inquire"))


async def check_connection(api: ConnectWiseApi) -> ConnectionCheck:
    login = api.login
    facts: dict[str, str] = {"site": api.site_url, "company": login.company_id, "api_version_pinned": API_VERSION}

    def failed(detail: str) -> ConnectionCheck:
        return ConnectionCheck(ok=False, system=SYSTEM, detail=detail, facts=facts)

    try:
        facts["codebase"] = await api.codebase()
        facts["api_base"] = (await api.url("")).rstrip("/")
    except NotFoundError as exc:
        if exc.status is None:  # companyinfo answered null
            return failed(f"ConnectWise does not know company {login.company_id} at {api.site_url}: check the "
                          "company id (the one typed at the ConnectWise login) and the site URL")
        return failed(f"{api.site_url} has no ConnectWise companyinfo page (HTTP 404): check the site URL")
    except UnreachableError as exc:
        return failed(f"cannot reach the ConnectWise site {api.site_url}: {exc.vendor_message}")
    except MalformedReplyError as exc:
        return failed(f"{api.site_url} does not answer like a ConnectWise site: {exc.vendor_message}")
    except ConnectorError as exc:
        return failed(f"the ConnectWise site {api.site_url} refused the companyinfo lookup: {exc.describe()}")

    for path, what, permission in _READS:
        try:
            body = await api.get(path, operation="check")
        except AuthenticationError as exc:
            return failed(f"ConnectWise rejected the API keys for company {login.company_id} (HTTP 401): check "
                          f"the public and private key of the API member. ConnectWise said: {exc.vendor_message}")
        except PermissionDeniedError as exc:
            return failed(f"the API member may not read {what} (HTTP 403): give its security role "
                          f"{permission}. ConnectWise said: {exc.vendor_message}")
        except RejectedError as exc:
            if "clientid" in exc.vendor_message.casefold():
                return failed(f"ConnectWise refused the clientId {login.client_id!r}: register one at "
                              f"developer.connectwise.com/ClientID. ConnectWise said: {exc.vendor_message}")
            return failed(f"ConnectWise refused a request for {what}: {exc.describe()}")
        except NotFoundError as exc:
            return failed(f"no ConnectWise API at {facts['api_base']} (HTTP 404): check the site URL and the "
                          f"codebase, or the API keys (cloud answers some bad logins with 404). {exc.vendor_message}")
        except ConnectorError as exc:
            return failed(f"ConnectWise did not answer a request for {what}: {exc.describe()}")
        count = body.get("count") if isinstance(body, dict) else None
        if not isinstance(count, int):
            return failed(f"ConnectWise answered the {what} count with {str(body)[:120]!r}")
        facts[what.replace(" ", "_")] = str(count)
    if api.api_current_version:
        facts["api_current_version"] = api.api_current_version
    return ConnectionCheck(ok=True, system=SYSTEM, facts=facts,
                           detail=f"connected to ConnectWise company {login.company_id} at {api.site_url} "
                                  f"({facts['companies']} companies, {facts['agreements']} agreements)")
