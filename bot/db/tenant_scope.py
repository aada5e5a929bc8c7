"""Which tenant the code running now acts for: a context variable, so each asyncio task carries its own.

A tenant is one MSP: a Slack workspace, or an enterprise for an org-wide Grid install (`bot.db.tenancy`). The
single-workspace install is the default tenant, which is also what runs when nothing chose a tenant: code written
before tenants existed keeps working unchanged. Everything that reads or writes tenant-owned rows asks
`current_tenant_id()` through the session (`bot.db.tenant_filter`), never a parameter of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

DEFAULT_TENANT_ID = 1  # the single-workspace install's tenant, created by revision 0007

_CURRENT: ContextVar[int] = ContextVar("seatsync_tenant_id", default=DEFAULT_TENANT_ID)


def current_tenant_id() -> int:
    """The tenant of the code running now: the innermost `tenant_scope` of this task (an asyncio task started
    inside a scope keeps it), else DEFAULT_TENANT_ID."""
    return _CURRENT.get()


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[int]:
    """Act for `tenant_id` inside the block (nestable; restored on exit, even on an exception).

    Sessions pick the tenant up when a transaction begins, so a transaction opened before the block keeps the
    tenant it began with: open sessions inside the scope.
    """
    _check(tenant_id)
    token = _CURRENT.set(tenant_id)
    try:
        yield tenant_id
    finally:
        _CURRENT.reset(token)


def enter_tenant(tenant_id: int) -> None:
    """Act for `tenant_id` from here to the end of the enclosing `tenant_scope` (or of the current task): for a
    step that cannot wrap what follows it, as Bolt's middleware, which returns before its listener runs. The
    caller of such a step opens the enclosing scope, so nothing after it inherits the tenant."""
    _check(tenant_id)
    _CURRENT.set(tenant_id)


def _check(tenant_id: int) -> None:
    if isinstance(tenant_id, bool) or not isinstance(tenant_id, int) or tenant_id <= 0:
        raise ValueError(f"a tenant id is a positive integer, not {tenant_id!r}")
