"""`seatsync tenants list` and `seatsync tenants export`: a leaving tenant's data as files, and only its own."""

from __future__ import annotations

import asyncio
import csv

import pytest

from bot.__main__ import main
from bot.clock import ManualClock
from bot.db.audit import record_audit
from bot.db.engine import create_engine, session_factory
from bot.db.tenancy import ensure_tenant, tenant_scope
from tests.conftest import PINNED_NOW


@pytest.fixture
async def tenant(database_url, monkeypatch, tmp_path):
    """A second tenant with an audit event of its own, beside one of the default tenant."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        tenant_id = await ensure_tenant(session, team_id="T0SECOND01", enterprise_id=None, is_enterprise_install=False)
    with tenant_scope(tenant_id):
        async with sessions() as session, session.begin():
            record_audit(session=session, actor="U0SECOND01", action="link.set", subject_type="resource_link",
                         subject_id="=SUM(A1)", after={"note": "kept"})
    async with sessions() as session, session.begin():
        record_audit(session=session, actor="U0DEFAULT1", action="link.set", subject_type="resource_link",
                     subject_id=8)
    await engine.dispose()
    return tenant_id


def run(argv: list[str]) -> int:
    return main(argv, clock=ManualClock(PINNED_NOW))


async def test_export_writes_the_tenants_links_adjustments_and_audit_and_nothing_of_another(tenant, tmp_path,
                                                                                           capsys):
    out = tmp_path / "leaving"

    code = await asyncio.to_thread(run, ["tenants", "export", "--tenant", str(tenant), "--output", str(out)])

    assert code == 0
    assert sorted(path.name for path in out.iterdir()) == ["adjustments.csv", "audit.csv", "links.csv"]
    with (out / "audit.csv").open(encoding="utf-8-sig", newline="") as file:
        audit = list(csv.DictReader(file))
    assert [row["actor"] for row in audit] == ["U0SECOND01"]
    assert audit[0]["subject_id"] == "'=SUM(A1)"  # a cell that could run as a formula is neutralised
    assert audit[0]["after"] == '{"note": "kept"}'
    assert "wrote 1 row to" in capsys.readouterr().err


async def test_list_shows_each_tenant_and_an_unknown_tenant_is_refused(tenant, tmp_path, capsys):
    assert await asyncio.to_thread(run, ["tenants", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].startswith("1\tsingle workspace\tactive")
    assert f"{tenant}\tteam:T0SECOND01\tactive" in listed

    code = await asyncio.to_thread(run, ["tenants", "export", "--tenant", "999", "--output", str(tmp_path / "x")])
    assert code == 1
    assert "there is no tenant 999" in capsys.readouterr().err
