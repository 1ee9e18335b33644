"""The demo clinic site: a few pages with the widget embedded, as a clinic would do it."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.web.config import WebConfig

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Page:
    path: str
    template: str
    title: str
    nav_label: str


PAGES = (
    Page("/", "home.html", "Ketamine therapy", "Ketamine therapy"),
    Page("/first-visit", "first_visit.html", "Your first visit", "Your first visit"),
)


def _render(page: Page, config: WebConfig) -> str:
    layout = Template((TEMPLATES / "layout.html").read_text(encoding="utf-8"))
    body = (TEMPLATES / page.template).read_text(encoding="utf-8")
    current = ' aria-current="page"'
    nav = "\n".join(
        f'<li><a href="{p.path}"{current if p is page else ""}>{escape(p.nav_label)}</a></li>'
        for p in PAGES
    )
    return layout.substitute(
        title=escape(page.title),
        nav=nav,
        body=body,
        server_url=escape(config.rasa_public_url, quote=True),
    )


def page_routes(config: WebConfig) -> list[Route]:
    def endpoint_for(page: Page):
        async def endpoint(request: Request) -> HTMLResponse:
            return HTMLResponse(_render(page, config), headers={"Cache-Control": "no-cache"})

        endpoint.__name__ = f"page_{page.template.removesuffix('.html')}"
        return endpoint

    return [Route(p.path, endpoint_for(p), methods=["GET", "HEAD"], name=endpoint_for(p).__name__) for p in PAGES]
