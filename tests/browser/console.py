"""What a person does on the console, in Playwright terms: find a task, fill a form, sign, submit."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

TASK_URL = re.compile(r"/tasks/[0-9a-f-]{36}$")
TICKET_URL = re.compile(r"/tickets/(KF-\d{8}-\d{4})$")


def open_task_from_inbox(page: Page, title: str, *, scope: str = "mine") -> None:
    """Open the inbox tab (``mine`` or ``group``) and follow the link of the task called ``title``."""
    page.goto(f"/?scope={scope}")
    page.locator("#inbox").get_by_role("link", name=title, exact=True).first.click()
    page.wait_for_url(TASK_URL)
    expect(page.locator("#task-title")).to_have_text(title)


def choose(page: Page, field: str, value: str) -> None:
    """Tick the radio button ``value`` of ``field`` (yes/no questions use ``true`` / ``false``)."""
    page.locator(f'input[type=radio][name="{field}"][value="{value}"]').check()


def submit(page: Page) -> None:
    """Press Submit and wait for the next page to load."""
    with page.expect_navigation():
        page.locator("#complete-task").click()


def draw_signature(page: Page, field: str) -> None:
    """Sign on the canvas of a signature field with the pointer: two strokes, as a finger would."""
    canvas = page.locator(f'.signature-box[data-target="{field}"] canvas')
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, box
    for stroke in (((0.1, 0.7), (0.3, 0.2), (0.5, 0.7), (0.7, 0.2)), ((0.2, 0.5), (0.9, 0.5))):
        x, y = stroke[0]
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=8)
        page.mouse.up()


def horizontal_overflow(page: Page) -> list[str]:
    """What makes the page (or a scroll box in it) wider than the screen; empty when nothing does."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const found = [];
        const scrollers = [];
        if (document.documentElement.scrollWidth > width) {
            found.push(`page: ${document.documentElement.scrollWidth}px wide in ${width}px`);
        }
        for (const el of document.querySelectorAll("body *")) {
            if (scrollers.some((box) => box.contains(el))) { continue; }  // reported with its scroll box
            const style = getComputedStyle(el);
            const scrolls = ["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
            const rect = el.getBoundingClientRect();
            const sticksOut = rect.width > 0 && (rect.right > width + 1 || rect.left < -1);
            if (scrolls) { scrollers.push(el); }
            if (scrolls || (sticksOut && style.position !== "fixed")) {
                const classes = typeof el.className === "string" ? el.className.split(/\\s+/).filter(Boolean) : [];
                const name = [el.tagName.toLowerCase() + (el.id ? "#" + el.id : ""), ...classes].join(".");
                const where = `${Math.round(rect.left)}..${Math.round(rect.right)} of ${width}`;
                found.push(`${name}: ${scrolls ? "scrolls sideways" : "sticks out"} (${where})`);
            }
        }
        return found.slice(0, 10);
    }""")


def assert_fits_the_screen(page: Page) -> None:
    overflow = horizontal_overflow(page)
    assert not overflow, f"{page.url} is wider than the screen ({page.viewport_size}): {overflow}"
