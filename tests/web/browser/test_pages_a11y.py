"""Every main page in English and Russian: axe-core finds no serious or critical violation,
the browser refuses nothing (CSP) and runs no failing script, and screenshots at 375 and
1440 px are saved under screenshots/ (README: "Screenshots") as page-lang-width.png.

axe-core runs inside chromium, from the copy that the axe-playwright-python wheel ships (no
network); it is injected through the DevTools protocol, which the page's CSP does not govern.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.browser.conftest import SCREENSHOTS, Live

pytestmark = pytest.mark.browser

# name -> (path, user who reads it); None reads it signed out.
PAGES: dict[str, tuple[str, str | None]] = {
    "dashboard": ("/", "kaz_editor"),
    "catalog": ("/risks", "kaz_editor"),
    "risk": ("/risks/CA-AFG-002", "kaz_editor"),
    "risk-edit": ("/risks/CA-AFG-002/edit", "sec_editor"),
    # One lead organisation's measures: the same template and every kind of cell, a tenth of
    # the rows (axe takes 16 s on the whole table of the default catalog).
    "measures": ("/measures?lead=KAZ-SC", "kaz_editor"),
    "board": ("/measures?view=board&lead=KAZ-SC", "kaz_editor"),
    "measure": ("/measures/CA-MSR-029", "kaz_editor"),
    "country": ("/countries/KAZ", "kaz_editor"),
    "login": ("/login", None),
    "account": ("/account", "kaz_editor"),
    "admin": ("/admin", "web_admin"),
    "proposals": ("/proposals?status=all", "kaz_editor"),
    "propose": ("/risks/CA-AFG-002/propose", "kaz_editor"),
    "meetings": ("/meetings", "web_admin"),  # with the form to add one
    "alerts": ("/alerts", "kaz_editor"),
    "events": ("/events", "kaz_editor"),
    "report": ("/reports/new", "kaz_editor"),  # the field report form
}
WIDTHS = (375, 1440)
GRAVE = {"serious", "critical"}


def with_axe(page: Any) -> Any:
    """Have axe-core in every document the page loads (once per context, not per call)."""
    from axe_playwright_python.sync_playwright import Axe

    page.context.add_init_script(Axe().axe_script)
    return page


def violations(page: Any, contrast: bool = True) -> list[str]:
    """Serious and critical axe-core violations, with where they are. `contrast=False` skips
    the colour-contrast rule (80 % of axe's time here): colours come from the stylesheets,
    not the language, so it runs on the English pages only."""
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if not contrast:
        options["rules"] = {"color-contrast": {"enabled": False}}
    found = page.evaluate("options => axe.run(document, options)", options)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            for v in found["violations"] if v["impact"] in GRAVE]


def refused(page: Any) -> list[str]:
    """What the browser complained about: CSP refusals, script errors, files that failed to
    load (a stylesheet or script the page names and the server does not have)."""
    return list(page.problems)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_main_pages_accessible_and_photographed(open_as: Any, live: Live, lang: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    problems: dict[str, list[str]] = {}
    missing = []
    pages: dict[str | None, Any] = {}
    for name, (path, user) in PAGES.items():
        page = pages.get(user) or pages.setdefault(user, with_axe(open_as(user, lang)))
        page.problems.clear()
        sep = "&" if "?" in path else "?"
        response = page.goto(f"{path}{sep}lang={lang}")
        if response is None or response.status != 200:
            missing.append(f"{name} {path}: {response and response.status}")
            continue
        assert page.locator("html").get_attribute("lang") == lang, name
        found = violations(page, contrast=lang == "en") + refused(page)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 1:
                found.append(f"at {width} px the page scrolls sideways by {overflow} px")
        page.set_viewport_size({"width": 1440, "height": 900})
        if found:
            problems[name] = found
    assert not missing, f"pages that do not answer 200: {missing}"
    assert not problems, "\n".join(f"{n}: {p}" for n, ps in problems.items() for p in ps)
