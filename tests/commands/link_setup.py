"""Harness for the link family's end-to-end tests: the real app behind /slack/events, Slack played by the
simulator, and a `Modal` driver that does what a person does in the open dialog."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.db.models import (
    ContractStatus,
    MarketplaceCompany,
    MarketplaceResource,
    MarketplaceSubscription,
    PsaCompany,
    PsaContract,
    PsaService,
    SubscriptionStatus,
    Term,
)
from bot.sandbox.slack import SlackRecorder
from bot.sandbox.slack_blocks import find_element, validate_message_blocks, validate_view
from bot.sandbox.slack_requests import SlackReply, SlackRequestSender
from bot.slack.ids import LinkActionId
from tests.bolt_listeners import listeners_done
from tests.commands.test_seats_command import (  # noqa: F401 - the slack fixture, re-exported
    BILLING_CHANNEL,
    DANA,
    LEE,
    SAM,
    SECRET,
    TOKEN,
    slack,
    start_app,
)

MORGAN = "U0MORGAN04"


def failed_calls(recorder: SlackRecorder) -> list[tuple[str, str | None, Any]]:
    return [(c.method, c.error, (c.response or {}).get("response_metadata")) for c in recorder.calls() if not c.ok]


def messages_in(recorder: SlackRecorder, channel: str) -> list[dict[str, Any]]:
    return [c.args for c in recorder.calls("chat.postMessage") if c.ok and c.args["channel"] == channel]


def ephemeral_texts(recorder: SlackRecorder, user: str) -> list[str]:
    return [m.message.get("text", "") for m in recorder.ephemeral_messages(user)]


def option_texts(reply: SlackReply) -> list[str]:
    return [o["text"]["text"] for o in reply.json["options"]]


def option_named(reply: SlackReply, name: str) -> dict[str, Any]:
    found = [o for o in reply.json["options"] if o["text"]["text"].startswith(name)]
    assert found, f"no option for {name!r} in {option_texts(reply)}"
    return found[0]


class Modal:
    """The modal stack one person sees, and the requests their clicks send."""

    def __init__(self, recorder: SlackRecorder, sender: SlackRequestSender, user: str = DANA) -> None:
        self.recorder, self.sender, self.user = recorder, sender, user

    @property
    def top(self) -> dict[str, Any]:
        views = self.recorder.open_views(self.user)
        assert views, f"{self.user} has no modal open"
        return views[-1]

    @property
    def is_open(self) -> bool:
        return bool(self.recorder.open_views(self.user))

    def element(self, action_id: str) -> dict[str, Any]:
        found = find_element(self.top["blocks"], action_id)
        assert found is not None, f"no {action_id} in the modal: {[b.get('block_id') for b in self.top['blocks']]}"
        return found[1]

    def block_id(self, action_id: str) -> str:
        found = find_element(self.top["blocks"], action_id)
        assert found is not None, f"no {action_id} in the modal"
        return found[0]["block_id"]

    def has(self, action_id: str) -> bool:
        return find_element(self.top["blocks"], action_id) is not None

    def texts(self) -> str:
        parts = []
        for block in self.top["blocks"]:
            for text in [block.get("text"), *(block.get("elements") or [])]:
                if isinstance(text, dict) and isinstance(text.get("text"), str):
                    parts.append(text["text"])
        return "\n".join(parts)

    async def options(self, action_id: str, typed: str = "") -> SlackReply:
        reply = await self.sender.block_suggestion(action_id, typed, view=self.top["id"], user_id=self.user)
        assert reply.status == 200 and reply.problems == [], (reply.status, reply.problems)
        return reply

    async def updated(self, act) -> SlackReply:
        """Do `act` (a click in the modal) and wait for the app's views.update after its ack."""
        before = len(self.recorder.calls("views.update"))
        reply = await act()
        assert reply.status == 200, reply.body
        await listeners_done()
        assert len(self.recorder.calls("views.update")) > before
        return reply

    async def pick(self, action_id: str, option: dict[str, Any]) -> SlackReply:
        return await self.updated(lambda: self.sender.block_actions(
            action_id, view=self.top["id"], selected_option=option, user_id=self.user))

    async def click(self, action_id: str, **kwargs) -> SlackReply:
        return await self.updated(lambda: self.sender.block_actions(action_id, view=self.top["id"],
                                                                    user_id=self.user, **kwargs))

    def defaults(self) -> dict[str, Any]:
        """What the inputs hold when the person changes nothing: each one's initial value."""
        values: dict[str, Any] = {}
        for block in self.top["blocks"]:
            if block.get("type") != "input":
                continue
            element = block["element"]
            values[block["block_id"]] = copy.deepcopy(element.get("initial_option") or element.get("initial_options")
                                                      or element.get("initial_value"))
        return values

    async def submit(self, overrides: dict[str, Any] | None = None) -> SlackReply:
        values = {k: v for k, v in {**self.defaults(), **(overrides or {})}.items() if v is not None}
        reply = await self.sender.view_submission(self.top["id"], values, user_id=self.user)
        assert reply.status == 200, reply.body
        return reply


def assert_valid_view(view: dict[str, Any]) -> None:
    shape = {k: view[k] for k in ("type", "title", "blocks", "private_metadata", "callback_id") if k in view}
    for key in ("submit", "close"):
        if view.get(key):
            shape[key] = view[key]
    assert validate_view(shape) == []


def assert_valid_message(blocks: list[dict[str, Any]]) -> None:
    assert validate_message_blocks(blocks) == []


@dataclass(frozen=True)
class LineRows:
    """The database rows of one marketplace line and the PSA service it should feed."""

    company_id: int
    company: str
    psa_company_id: int
    psa_company: str
    subscription_id: int
    subscription: str
    contract_id: int
    contract: str
    resource_id: int
    resource: str
    service_id: int
    service: str


async def line_rows(sessions, *, subscription_external_id: str, resource_external_id: str,
                    service_external_id: str) -> LineRows:
    async with sessions() as session:
        resource = await session.scalar(
            select(MarketplaceResource).join(MarketplaceSubscription)
            .where(MarketplaceSubscription.external_id == subscription_external_id,
                   MarketplaceResource.external_id == resource_external_id))
        service = await session.scalar(select(PsaService).where(PsaService.external_id == service_external_id))
        assert resource is not None and service is not None
        subscription = await session.get(MarketplaceSubscription, resource.subscription_id)
        contract = await session.get(PsaContract, service.contract_id)
        await session.refresh(subscription, ["company"])
        await session.refresh(contract, ["company"])
        return LineRows(subscription.company_id, subscription.company.name, contract.company_id,
                        contract.company.name, subscription.id, subscription.name, contract.id, contract.name,
                        resource.id, resource.name, service.id, service.name)


@dataclass(frozen=True)
class SmallWorld:
    acme: int
    zenith: int
    acme_co: int
    acme_plumbing: int
    subscription: int
    old_subscription: int
    contract: int
    old_contract: int
    exchange: int
    teams: int
    exchange_service: int
    teams_service: int


async def small_world(sessions) -> SmallWorld:
    """Two marketplace customers and their PSA spellings; Acme has a current and an ended subscription and
    contract, each current one holding Exchange and Teams. Nothing linked."""
    async with sessions() as session:
        acme = MarketplaceCompany(marketplace="ingram", external_id="C-1", name="Acme Mfg. Inc.")
        zenith = MarketplaceCompany(marketplace="ingram", external_id="C-2", name="Zenith Labs LLC")
        sub = MarketplaceSubscription(company=acme, marketplace="ingram", external_id="S-1",
                                      name="Microsoft 365 Business Standard", term=Term.monthly,
                                      status=SubscriptionStatus.active, start_date=date(2026, 1, 1))
        old_sub = MarketplaceSubscription(company=acme, marketplace="ingram", external_id="S-2",
                                          name="Office 365 E1 (old)", term=Term.monthly,
                                          status=SubscriptionStatus.expired, start_date=date(2024, 1, 1))
        exchange = MarketplaceResource(subscription=sub, external_id="R-1", name="Exchange Online (Plan 1)",
                                       additional=8, total=8, unit_price=Decimal("8.00"), unit_cost=Decimal("6.40"))
        teams = MarketplaceResource(subscription=sub, external_id="R-2", name="Microsoft Teams Essentials",
                                    additional=3, total=3, unit_price=Decimal("4.00"), unit_cost=Decimal("3.00"))
        psa = {name: PsaCompany(psa="autotask", external_id=str(i), name=name)
               for i, name in enumerate(("Acme Co.", "Acme Plumbing", "Zenith Laboratories", "Apex Corporation"))}
        contract = PsaContract(company=psa["Acme Co."], psa="autotask", external_id="K-1",
                               name="M365 Business Standard", status=ContractStatus.active,
                               start_date=date(2026, 1, 1))
        old_contract = PsaContract(company=psa["Acme Co."], psa="autotask", external_id="K-2",
                                   name="M365 Business Standard 2024", status=ContractStatus.active,
                                   start_date=date(2024, 1, 1), end_date=date(2024, 12, 31))
        exchange_service = PsaService(contract=contract, psa="autotask", external_id="V-1",
                                      name="Exchange Online (Plan 1)", units=1, unit_price=Decimal("9.50"),
                                      unit_cost=Decimal("6.40"))
        teams_service = PsaService(contract=contract, psa="autotask", external_id="V-2",
                                   name="Teams Essentials", units=3, unit_price=Decimal("5.00"),
                                   unit_cost=Decimal("3.00"))
        session.add_all([acme, zenith, sub, old_sub, exchange, teams, *psa.values(), contract, old_contract,
                         exchange_service, teams_service])
        await session.commit()
        return SmallWorld(acme.id, zenith.id, psa["Acme Co."].id, psa["Acme Plumbing"].id, sub.id, old_sub.id,
                          contract.id, old_contract.id, exchange.id, teams.id, exchange_service.id, teams_service.id)


async def walk_to_price(modal: Modal, world: SmallWorld, *, resource: str = "Exchange", service: str = "Exchange"
                        ) -> None:
    """Pick Acme all the way down to a resource and service, as a person would."""
    await listeners_done()
    assert modal.is_open
    await modal.pick(LinkActionId.PICK_COMPANY, option_named(await modal.options(LinkActionId.PICK_COMPANY, "acme"),
                                                             "Acme Mfg. Inc."))
    await modal.pick(LinkActionId.PICK_PSA_COMPANY, option_named(await modal.options(LinkActionId.PICK_PSA_COMPANY),
                                                                 "Acme Co."))
    await modal.pick(LinkActionId.PICK_SUBSCRIPTION,
                     option_named(await modal.options(LinkActionId.PICK_SUBSCRIPTION), "Microsoft 365"))
    await modal.pick(LinkActionId.PICK_CONTRACT, option_named(await modal.options(LinkActionId.PICK_CONTRACT),
                                                              "M365 Business Standard ·"))
    await modal.pick(LinkActionId.PICK_RESOURCE, option_named(await modal.options(LinkActionId.PICK_RESOURCE),
                                                              resource))
    await modal.pick(LinkActionId.PICK_SERVICE, option_named(await modal.options(LinkActionId.PICK_SERVICE), service))
