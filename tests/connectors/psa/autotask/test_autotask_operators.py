"""SeatSync never sends Autotask a filter operator the API would silently drop (and then answer with everything).

The live API drops an unknown operator and returns every row (the simulator does the same when asked,
`drop_unknown_operators=True`; it refuses the operator by default), so against the live API a typo would pass
every test that only looks at the answer. Two guards: the connector refuses to build such a body
(`records.check_operators`), and every query body the connector sends in each of its operations is parsed here
by the simulator's grammar in its strict mode.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.connectors.psa.autotask.records import DOCUMENTED_OPERATORS, check_operators, query_body
from bot.sandbox.autotask_entities import ENTITIES
from bot.sandbox.autotask_query import COMPARISONS, GROUPS, LISTS, PRESENCE, parse_query
from tests.connectors.psa.autotask.test_autotask import RecordingTransport, client_for, start_sandbox
from tests.connectors.psa.autotask.test_autotask_posting import request_for, running_service


def test_the_documented_set_is_the_simulators_grammar():
    assert {op.lower() for op in DOCUMENTED_OPERATORS} == COMPARISONS | PRESENCE | LISTS | GROUPS


@pytest.mark.parametrize("condition", [
    {"op": "ne", "field": "id", "value": 1},
    {"op": "like", "field": "companyName", "value": "A%"},
    {"op": "or", "items": [{"op": "eq", "field": "id", "value": 1}, {"op": "neq", "field": "id", "value": 2}]},
    {"op": "and", "items": []},
])
def test_a_body_with_an_undocumented_operator_is_never_built(condition):
    with pytest.raises(ValueError, match="autotask"):
        query_body([condition], ("id",))
    with pytest.raises(ValueError):
        check_operators([condition])


def _operators(condition: dict) -> set[str]:
    found = {condition["op"]}
    for item in condition.get("items", ()):
        found |= _operators(item)
    return found


async def test_every_query_the_connector_sends_uses_documented_operators_only():
    sandbox = await start_sandbox()
    transport = RecordingTransport()
    client = client_for(sandbox, transport=transport, page_size=50, batch_size=20)
    try:
        world = sandbox.world
        await client.list_companies()
        await client.list_companies(modified_since=world.now() - timedelta(days=30))
        await client.list_contracts()
        services = await client.list_services()
        await client.read_units([s.external_id for s in services[:45]] + ["999999999"])
        service = running_service(world)
        request = request_for(world, service, to=service.units + 1)
        assert await client.find_posted(request) is None
        await client.post_adjustment(request)
        assert await client.find_posted(request) is not None
        assert (await client.test_connection()).ok
    finally:
        await client.aclose()
        await sandbox.stop()
    sent: dict[str, list[dict]] = {}
    for call in transport.requests:
        parts = [p.lower() for p in call.url.path.split("/")]
        if "query" in parts and call.content:
            sent.setdefault(parts[parts.index("query") - 1], []).append(json.loads(call.content))
    assert {"companies", "contracts", "contractservices", "contractserviceunits", "services",
            "contractnotes"} <= sent.keys()
    used: set[str] = set()
    for entity, bodies in sent.items():
        definition = ENTITIES[entity]
        for body in bodies:
            parse_query(body, definition.query_fields, definition.label, drop_unknown_operators=False)
            for condition in body["filter"]:
                used |= _operators(condition)
    assert used <= DOCUMENTED_OPERATORS
    assert {"in", "gte", "lte", "eq", "contains", "or", "and"} <= used  # the operations above were all exercised
