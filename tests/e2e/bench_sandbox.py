"""`python -m bot sandbox` as the many-tenant bench runs it: `SEATSYNC_BENCH_VENDOR_ACCOUNTS=N` gives the Ingram
gateway and the ConnectWise API N times their per-account request quota (1,000 a minute each).

Every tenant of the bench connects to the one sandbox with its one set of credentials, so the vendors' per-account
limits, which a real MSP has for itself, would be shared by all of them: at 100 tenants the Ingram gateway refused
most calls with 429 and every cycle waited out its Retry-After (bench/README.md). N accounts' quota stands in for
each tenant's own account; SeatSync's own per-tenant budget (bot.db.rate_budgets) still paces each tenant.
"""

from __future__ import annotations

import os
import sys

from bot.sandbox import connectwise, ingram
from bot.sandbox.ingram_gateway import GatewayQuota

PER_ACCOUNT = 1000  # calls a minute: the Ingram gateway's and ConnectWise's defaults


def give_accounts(accounts: int) -> None:
    ingram.GatewayQuota = lambda: GatewayQuota(calls=PER_ACCOUNT * accounts)  # create_ingram_app's default quota
    connectwise.create_connectwise_app.__kwdefaults__["requests_per_minute"] = PER_ACCOUNT * accounts


if __name__ == "__main__":
    give_accounts(int(os.environ.get("SEATSYNC_BENCH_VENDOR_ACCOUNTS", "1")))
    from bot.__main__ import main

    sys.exit(main())
