"""What a person does in the Slack console, as selenium steps (each run off the event loop, which serves the
sandbox, the console and SeatSync meanwhile). Every wait names what it waits for."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

WAIT_S = 20


class ConsolePage:
    def __init__(self, driver, url: str) -> None:
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        self.driver, self.url, self.by, self.keys = driver, url, By, Keys
        self.transient = (NoSuchElementException, StaleElementReferenceException)

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(function, *args)

    async def until(self, condition: Callable[[], Any], what: str | Callable[[], str]) -> Any:
        """Poll `condition` (run in a thread; stale or missing elements count as "not yet") until it is truthy.
        `what` names it in the failure (a callable: read at that time)."""
        def attempt() -> Any:
            # StopIteration (a `next()` that found nothing yet) must not leave the thread: a future cannot hold
            # it, so asyncio would never resolve the await
            try:
                return condition()
            except (StopIteration, *self.transient):
                return None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            result = await self.run(attempt)
            if result:
                return result
            if loop.time() > deadline:
                said = await self.run(what) if callable(what) else what
                raise AssertionError(f"timed out waiting for {said}")
            await asyncio.sleep(0.05)

    def css(self, selector: str):
        return self.driver.find_elements(self.by.CSS_SELECTOR, selector)

    # --- where and who -------------------------------------------------------------------------------

    async def open(self, user: str, channel: str) -> None:
        await self.run(self.driver.get, f"{self.url}?as={user}&channel={channel}")
        await self.until(lambda: self.driver.find_element(self.by.ID, "conversation-title").text.startswith("#"),
                         "the channel to show")

    async def become(self, user: str) -> None:
        """Choose another person in the console's "You are" list."""
        from selenium.webdriver.support.ui import Select

        await self.run(lambda: Select(self.driver.find_element(self.by.ID, "person")).select_by_value(user))
        await self.until(lambda: self.driver.execute_script(
            "return slackConsole.ui.state && slackConsole.ui.state.me.id") == user, f"{user}'s Slack")

    # --- the channel ------------------------------------------------------------------------------

    async def command(self, text: str) -> None:
        def type_() -> None:
            box = self.driver.find_element(self.by.ID, "composer-input")
            box.send_keys(text + self.keys.ENTER)

        await self.run(type_)

    def message_texts(self) -> list[str]:
        return [m.text for m in self.css("#messages article.message")]

    async def message_with(self, words: str) -> Any:
        """The newest message (article) whose text holds `words`."""
        def find():
            found = [m for m in self.css("#messages article.message") if words in m.text]
            return found[-1] if found else None

        return await self.until(find, lambda: f"a message saying {words!r}; the channel shows {self.message_texts()}")

    async def click_in_message(self, words: str, button_text: str) -> None:
        def click() -> bool:
            message = [m for m in self.css("#messages article.message") if words in m.text][-1]
            button = next(b for b in message.find_elements(self.by.CSS_SELECTOR, ".bk-button")
                          if b.text == button_text)
            button.click()
            return True

        await self.until(click, f"the {button_text!r} button in the message saying {words!r}")

    # --- modals -----------------------------------------------------------------------------------

    def _modal(self):
        found = self.css("#modal-layer .modal")
        return found[0] if found else None

    async def modal(self, title: str) -> None:
        await self.until(lambda: (m := self._modal()) and m.find_element(self.by.ID, "modal-title").text == title,
                         f"the {title!r} dialog")

    async def modal_hash(self) -> str:
        return await self.until(lambda: (m := self._modal()) and m.get_attribute("data-hash"), "a dialog")

    async def modal_text(self, words: str) -> None:
        await self.until(lambda: (m := self._modal()) and words in m.text, f"{words!r} in the dialog")

    async def modal_changed(self, since: str, what: str) -> None:
        await self.until(lambda: (m := self._modal()) and m.get_attribute("data-hash") != since, what)

    async def pick(self, action_id: str, typed: str, option: str) -> None:
        """Type into an external select, wait for the app's options, pick the one starting with `option`,
        then wait for the app to update the dialog."""
        before = await self.modal_hash()

        def type_() -> bool:
            field = self.driver.find_element(self.by.CSS_SELECTOR,
                                             f'#modal-layer [data-action-id="{action_id}"] input')
            field.click()
            field.send_keys(typed)
            return True

        await self.until(type_, f"the {action_id} select")

        def choose() -> bool:
            options = self.css(f'#modal-layer [data-action-id="{action_id}"] .bk-option')
            wanted = [o for o in options if o.text.startswith(option)]
            if not wanted:
                return False
            wanted[0].click()
            return True

        await self.until(choose, f"an option {option!r} in {action_id}")
        await self.modal_changed(before, f"the dialog after picking {option!r}")

    async def tick(self, label_starts: str) -> str:
        """Tick the checkbox whose label starts with `label_starts`; its whole label."""
        def tick_() -> str:
            label = next(c for c in self.css("#modal-layer .bk-choice") if c.text.startswith(label_starts))
            box = label.find_element(self.by.TAG_NAME, "input")
            if not box.is_selected():
                box.click()
            return label.text

        return await self.until(tick_, f"a row {label_starts!r} to tick")

    async def row_labels(self) -> list[str]:
        return await self.until(lambda: [c.text for c in self.css("#modal-layer .bk-choice")], "rows in the dialog")

    async def click_in_modal(self, text: str) -> None:
        def click() -> bool:
            button = next(b for b in self.css("#modal-layer .bk-button") if b.text == text)
            button.click()
            return True

        await self.until(click, f"the {text!r} button in the dialog")

    async def submit(self) -> None:
        await self.until(lambda: self.driver.find_element(self.by.CSS_SELECTOR, "#modal-layer .modal-submit")
                         .click() or True, "the submit button")

    async def no_modal(self) -> None:
        await self.until(lambda: not self.css("#modal-layer .modal"), "the dialog to close")

    def buttons_in_messages(self, text: str) -> list:
        return [b for b in self.css("#messages article.message .bk-button") if b.text == text]

    async def click_every_button(self, text: str, limit: int = 10) -> int:
        """Click each message button saying `text` (Approve…), one at a time, each time waiting for the app to
        update its message; how many were clicked."""
        for clicked in range(limit):
            buttons = await self.run(self.buttons_in_messages, text)
            if not buttons:
                return clicked
            await self.run(buttons[0].click)
            await self.until(lambda: len(self.buttons_in_messages(text)) < len(buttons),
                             f"the message to update after {text!r}")
        raise AssertionError(f"still {text!r} buttons after {limit} clicks")

    async def confirm(self) -> None:
        await self.until(lambda: self.driver.find_element(self.by.CSS_SELECTOR, "#confirm-layer .confirm-yes")
                         .click() or True, "the confirm dialog")

    async def close_modal(self) -> None:
        await self.until(lambda: self.driver.find_element(self.by.CSS_SELECTOR, "#modal-layer .modal-x")
                         .click() or True, "the dialog's ✕")
        await self.no_modal()

    async def choose(self, action_id: str, label: str) -> None:
        """Pick `label` in a static select (or add it to a multi-select) of the dialog, then wait for the app to
        update the dialog (its selects dispatch their actions)."""
        where = f'#modal-layer :is(select[data-action-id="{action_id}"], [data-action-id="{action_id}"] select)'
        await self.until(lambda: self.css(where), f"the {action_id} select")  # a dialog may open as "Loading…"
        before = await self.modal_hash()
        await self._select(where, label)
        await self.modal_changed(before, f"the dialog after picking {label!r}")

    async def choose_in_block(self, block_id: str, label: str) -> None:
        """Pick `label` in the select of the dialog's input `block_id`, one that sends nothing until submitted."""
        await self._select(f'#modal-layer [data-block-id="{block_id}"] select', label)

    async def _select(self, where: str, label: str) -> None:
        from selenium.webdriver.support.ui import Select

        await self.until(lambda: Select(self.driver.find_element(self.by.CSS_SELECTOR, where))
                         .select_by_visible_text(label) or True, f"{label!r} in the select {where}")

    async def type_in(self, block_id: str, text: str) -> None:
        """Type `text` into the dialog's text input of `block_id` (what it held is cleared first)."""
        def type_() -> bool:
            field = self.driver.find_element(self.by.CSS_SELECTOR,
                                             f'#modal-layer [data-block-id="{block_id}"] :is(input, textarea)')
            field.clear()
            field.send_keys(text)
            return True

        await self.until(type_, f"the {block_id} input")

    # --- installing the app --------------------------------------------------------------------------

    async def install_app(self) -> str:
        """Follow the console's install link as a person would: the app's install page (a new tab), *Add to Slack*,
        the consent screen's *Allow* (its workspace already chosen), and back; the page the app ended on."""
        driver = self.driver
        before = await self.run(lambda: set(driver.window_handles))
        await self.until(lambda: self.driver.find_element(self.by.ID, "install-link").click() or True,
                         "the console's install link")
        tab = await self.until(lambda: next(iter(set(driver.window_handles) - before), None), "the install tab")
        console = driver.current_window_handle
        await self.run(driver.switch_to.window, tab)
        try:
            await self.until(lambda: driver.find_element(self.by.CSS_SELECTOR, 'a img[alt="Add to Slack"]')
                             .click() or True, "the app's Add to Slack button")
            await self.until(lambda: next(b for b in self.css("button[name=decision]") if b.text == "Allow")
                             .click() or True, "the consent screen's Allow button")
            return await self.until(lambda: "Thank you!" in (text := driver.find_element(self.by.TAG_NAME, "body")
                                                              .text) and text, "the app's install-complete page")
        finally:
            await self.run(driver.close)
            await self.run(driver.switch_to.window, console)

    async def installed(self) -> None:
        await self.until(lambda: not self.driver.find_element(self.by.ID, "install").is_displayed(),
                         "the install link to go once the app is in")

    # --- App Home ---------------------------------------------------------------------------------

    async def open_home(self) -> None:
        await self.until(lambda: self.driver.find_element(self.by.CSS_SELECTOR, '[data-place="home"]')
                         .click() or True, "the app in the sidebar")
        await self.until(lambda: self.css("#home .bk-blocks"), "the Home tab's view")

    async def click_in_home(self, text: str) -> None:
        def click() -> bool:
            next(b for b in self.css("#home .bk-button") if b.text == text).click()
            return True

        await self.until(click, f"the {text!r} button in the Home tab")

    # --- links ------------------------------------------------------------------------------------

    async def open_link_in_message(self, words: str, href_part: str) -> str:
        """Click a link button of a message (it opens a new tab, as in Slack); the new tab's page text."""
        driver = self.driver
        before = await self.run(lambda: set(driver.window_handles))

        def click() -> bool:
            message = [m for m in self.css("#messages article.message") if words in m.text][-1]
            link = next(a for a in message.find_elements(self.by.CSS_SELECTOR, "a.bk-button")
                        if href_part in (a.get_attribute("href") or ""))
            link.click()
            return True

        await self.until(click, f"a link to {href_part!r} in the message saying {words!r}")
        tab = await self.until(lambda: next(iter(set(driver.window_handles) - before), None), "the link's new tab")
        console = driver.current_window_handle
        await self.run(driver.switch_to.window, tab)
        try:
            return await self.until(lambda: driver.find_element(self.by.TAG_NAME, "table")
                                    and driver.find_element(self.by.TAG_NAME, "body").text, "the report page")
        finally:
            await self.run(driver.close)
            await self.run(driver.switch_to.window, console)
