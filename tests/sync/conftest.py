"""The engine tests' workspace: a generated small MSP in the simulators, a migrated database and a real
engine, once per marketplace → PSA pair below."""

from __future__ import annotations

import pytest

from bot.demo.workspace import open_workspace
from bot.sandbox.app import Sandbox
from tests.conftest import TEST_SECRET_KEY
from tests.sync.engine_setup import unthrottled_odin

PAIRS = [("odin", "autotask"), ("ingram", "connectwise"), ("ingram", "halopsa")]


@pytest.fixture(params=PAIRS, ids=["odin-autotask", "ingram-connectwise", "ingram-halopsa"])
async def workspace(request, database_url, clock, today):
    marketplace, psa = request.param
    sandbox = Sandbox.generate(seed=7, scale="small", today=today)
    vendor_options = unthrottled_odin(sandbox)
    await sandbox.start()
    workspace = await open_workspace(sandbox=sandbox, database_url=database_url, secret_key=TEST_SECRET_KEY,
                                     marketplace=marketplace, psa=psa, clock=clock, vendor_options=vendor_options)
    workspace.names = (marketplace, psa)
    yield workspace
    await workspace.close()
