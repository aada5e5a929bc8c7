"""The PSA company picker's ranking by the picked company's name is kept while a person types, with the company
list it was computed from: once that list is read again (after a sync changed the PSA's companies), the ranking
is computed again, and never points into the list before."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event, select

from bot.db.models import MarketplaceCompany, PsaCompany
from bot.domain.matching import normalise_name
from bot.services import link_choices
from bot.slack.ids import LinkActionId
from tests.bolt_listeners import listeners_done
from tests.commands.link_setup import (
    Modal,
    option_texts,
    slack,  # noqa: F401 - the fixture
    start_app,
)
from tests.many_companies import insert_many_companies


async def test_the_ranking_by_the_picked_company_follows_the_psa_companies_read_again(
        aiohttp_client, slack, tmp_path, database_url, monkeypatch):  # noqa: F811
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:
        many = await insert_many_companies(session=session, count=60, now=context.clock())
    # a company the PSA spells differently enough that its match scores under 100
    k = next(i for i, (legal, spelled) in enumerate(zip(many.marketplace_names, many.psa_names, strict=True))
             if normalise_name(legal) != normalise_name(spelled))
    picked = many.marketplace_names[k]
    modal = Modal(recorder, sender)
    await sender.slash_command("link")
    await listeners_done()
    found = await modal.options(LinkActionId.PICK_COMPANY, picked)
    await modal.pick(LinkActionId.PICK_COMPANY, found.json["options"][0])

    before = await modal.options(LinkActionId.PICK_PSA_COMPANY)
    assert option_texts(before)[0].startswith(many.psa_names[k]) and "100%" not in option_texts(before)[0]
    assert (await modal.options(LinkActionId.PICK_PSA_COMPANY)).json == before.json  # the same while nothing changed

    # a sync reads a PSA company spelled as the marketplace spells it, first of the list by name
    async with context.sessions() as session:
        session.add(PsaCompany(psa="autotask", external_id="pc-legal", name=f"(The) {picked}",
                               last_seen_at=context.clock()))
        await session.commit()
        new_id = await session.scalar(select(PsaCompany.id).where(PsaCompany.external_id == "pc-legal"))
    monkeypatch.setattr(link_choices._CompanyLists, "TTL_S", 0.0)  # the kept list has expired

    after = (await modal.options(LinkActionId.PICK_PSA_COMPANY)).json["options"]
    assert after[0]["value"] == str(new_id)
    assert after[0]["text"]["text"] == f"(The) {picked} · 100%"
    assert after[1]["text"]["text"] == option_texts(before)[0]



class CompanyListReads:
    """The statements that read a whole company list (`table`), counted as the database sees them."""

    def __init__(self, context, table: str) -> None:
        self.engine, self.table = context.engine.sync_engine, table
        self.statements: list[str] = []

    def __enter__(self) -> CompanyListReads:
        event.listen(self.engine, "before_cursor_execute", self.seen)
        return self

    def __exit__(self, *_) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)

    def seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if f"FROM {self.table}" in statement and "ORDER BY" in statement:
            self.statements.append(statement)


async def sixty_companies(aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    """The app with 60 companies on each side, and the modal stack of the person who will open the wizard."""
    recorder, _ = slack
    context, sender = await start_app(aiohttp_client, slack, tmp_path, database_url)
    async with context.sessions() as session:
        many = await insert_many_companies(session=session, count=60, now=context.clock())
    return context, Modal(recorder, sender), many


async def test_people_typing_at_once_into_a_picker_share_one_read_of_its_companies(
        aiohttp_client, slack, tmp_path, database_url, monkeypatch):  # noqa: F811
    context, modal, many = await sixty_companies(aiohttp_client, slack, tmp_path, database_url)
    await modal.sender.slash_command("link")
    await listeners_done()
    link_choices._COMPANY_LISTS.clear()  # the list the wizard prepared is gone, as 10 s later
    read = link_choices._read_company_rows

    async def slow_read(*args, **kwargs):  # ten thousand names: the other keys arrive while the first one reads
        await asyncio.sleep(0.3)
        return await read(*args, **kwargs)

    monkeypatch.setattr(link_choices, "_read_company_rows", slow_read)
    with CompanyListReads(context, "marketplace_companies") as reads:
        replies = await asyncio.gather(*(modal.options(LinkActionId.PICK_COMPANY, typed)
                                         for typed in ("", many.marketplace_names[0][:1],
                                                       many.marketplace_names[1][:3], many.marketplace_names[2])))
    assert all(reply.json["options"] for reply in replies)
    assert len(reads.statements) == 1, reads.statements


async def test_the_wizard_has_each_company_picker_ready_before_it_shows_it(
        aiohttp_client, slack, tmp_path, database_url):  # noqa: F811
    context, modal, many = await sixty_companies(aiohttp_client, slack, tmp_path, database_url)
    with CompanyListReads(context, "marketplace_companies") as reads:
        await modal.sender.slash_command("link")
        await listeners_done()
        opened = len(reads.statements)
        found = await modal.options(LinkActionId.PICK_COMPANY, many.marketplace_names[3][:4])
    assert opened == 1 and len(reads.statements) == 1  # read before the modal opened; the first key found it kept

    with CompanyListReads(context, "psa_companies") as reads:
        await modal.pick(LinkActionId.PICK_COMPANY, found.json["options"][0])
        picked = len(reads.statements)
        first_key = await modal.options(LinkActionId.PICK_PSA_COMPANY)
    assert picked == 1 and len(reads.statements) == 1
    assert option_texts(first_key)[0].startswith(many.psa_names[3])  # ranked by the picked company's name


async def test_keys_typed_while_an_expired_list_is_read_again_are_answered_from_it_meanwhile(
        aiohttp_client, slack, tmp_path, database_url, monkeypatch):  # noqa: F811
    context, modal, many = await sixty_companies(aiohttp_client, slack, tmp_path, database_url)
    await modal.sender.slash_command("link")
    await listeners_done()
    async with context.sessions() as session:  # a sync stores a company the kept list does not have yet
        session.add(MarketplaceCompany(marketplace="ingram", external_id="mc-new", name="Newly Seen Ltd",
                                       first_seen_at=context.clock(), last_seen_at=context.clock()))
        await session.commit()
    monkeypatch.setattr(link_choices._CompanyLists, "TTL_S", 0.0)  # the list the wizard prepared has expired
    read_again, release = asyncio.Event(), asyncio.Event()
    read = link_choices._read_company_rows

    async def held_read(*args, **kwargs):
        read_again.set()
        await release.wait()
        return await read(*args, **kwargs)

    monkeypatch.setattr(link_choices, "_read_company_rows", held_read)
    first_key = asyncio.create_task(modal.options(LinkActionId.PICK_COMPANY, many.marketplace_names[0][:2]))
    await asyncio.wait_for(read_again.wait(), 30)
    meanwhile = await asyncio.wait_for(modal.options(LinkActionId.PICK_COMPANY, many.marketplace_names[1]), 10)
    release.set()
    assert option_texts(meanwhile)[0].startswith(many.marketplace_names[1])
    assert (await first_key).json["options"]


async def rename(context, old_name: str, new_name: str, *, seen_at) -> None:
    """What a sync stores for a company renamed in the marketplace: its name, seen at the sync's `seen_at`."""
    async with context.sessions() as session:
        company = await session.scalar(select(MarketplaceCompany).where(MarketplaceCompany.name == old_name))
        company.name, company.last_seen_at = new_name, seen_at
        await session.commit()


async def test_an_expired_list_is_read_again_only_once_a_sync_changed_its_companies(
        aiohttp_client, slack, tmp_path, database_url, monkeypatch):  # noqa: F811
    context, modal, many = await sixty_companies(aiohttp_client, slack, tmp_path, database_url)
    await modal.sender.slash_command("link")
    await listeners_done()
    monkeypatch.setattr(link_choices._CompanyLists, "TTL_S", 0.0)  # every key finds the kept list expired
    with CompanyListReads(context, "marketplace_companies") as reads:
        found = await modal.options(LinkActionId.PICK_COMPANY, many.marketplace_names[5][:6])
        kept = len(reads.statements)
        await rename(context, many.marketplace_names[5], "Zephyr Renamed Holdings",
                     seen_at=context.clock() + timedelta(minutes=5))
        renamed = await modal.options(LinkActionId.PICK_COMPANY, "Zephyr Renamed")
    assert option_texts(found)[0].startswith(many.marketplace_names[5])
    assert kept == 0 and len(reads.statements) == 1  # nothing changed: its stamp only; then the rename: read again
    assert option_texts(renamed)[0].startswith("Zephyr Renamed Holdings")


async def test_a_kept_list_is_read_again_after_a_while_even_if_its_stamp_did_not_move(
        aiohttp_client, slack, tmp_path, database_url, monkeypatch):  # noqa: F811
    context, modal, many = await sixty_companies(aiohttp_client, slack, tmp_path, database_url)
    await modal.sender.slash_command("link")
    await listeners_done()
    # a sync on an instance whose clock runs behind: the rename's last_seen_at leaves the stamp where it was
    await rename(context, many.marketplace_names[7], "Zephyr Renamed Holdings", seen_at=context.clock())
    monkeypatch.setattr(link_choices._CompanyLists, "TTL_S", 0.0)
    assert not option_texts(await modal.options(LinkActionId.PICK_COMPANY, "Zephyr Renamed"))[0].startswith(
        "Zephyr Renamed Holdings")  # the stamp did not move: the list kept (its old name)
    monkeypatch.setattr(link_choices._CompanyLists, "REREAD_S", 0.0)  # the list is older than that now

    renamed = await modal.options(LinkActionId.PICK_COMPANY, "Zephyr Renamed")

    assert option_texts(renamed)[0].startswith("Zephyr Renamed Holdings")
