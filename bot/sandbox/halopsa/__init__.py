"""HaloPSA simulator, mounted at /halopsa: OAuth2 client-credentials token, clients, contracts, items,
recurring invoices with their lines and pro-rata records, invoices, Halo's paging, array-body POST updates.

Modules: `records` (the data, kept on `world.halopsa`), `seed` (the MSP's Halo side), `auth` (the token and
the bearer check), `gate` (rate limit, scopes, error shape), `listing` (paging and filters), `shapes` (JSON),
`lines` (what a POST to /api/RecurringInvoice does), `invoicing` (the next invoice), `app` (routes).
This file imports nothing, so `bot.sandbox.world` can import `records` without a cycle.
"""
