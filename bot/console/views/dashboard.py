"""The console's home page: how much visitors used the bot, where it struggled, and crises, over
the last 7, 30 or 90 days, drawn as charts."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import charts, logs
from bot.console.render import render
from bot.db.engine import session_scope

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30


def _period(value: str) -> int:
    return int(value) if value in {str(days) for days in PERIODS} else DEFAULT_PERIOD


async def dashboard(request: Request) -> Response:
    days = _period(request.query_params.get("days", ""))

    def load() -> logs.DashboardStats:
        logs.sync_now()
        with session_scope() as session:
            return logs.dashboard_stats(session, days)

    stats = await run_in_threadpool(load)
    labels = [f"{day.day} {day:%b}" for day in stats.days]
    since = stats.days[0].isoformat()
    activity = charts.line_chart(
        "activity", "Conversations and messages per day", labels,
        [("Conversations", stats.conversations_per_day), ("Messages", stats.messages_per_day)],
    )
    topics = charts.bar_chart(
        "topics", "What visitors asked about most",
        [(logs.intent_label(intent), count) for intent, count in stats.top_intents],
        empty="No messages in this period.",
    )
    unanswered = [
        (text, count, "/console/conversations?" + urlencode({"q": text, "from": since}))
        for text, count in stats.unanswered
    ]
    return render(
        request, "dashboard.html", stats=stats, days=days, periods=PERIODS, activity=activity,
        topics=topics, unanswered=unanswered, since=since,
        until=(stats.days[0] + timedelta(days=days - 1)).isoformat(),
        low_confidence_percent=round(logs.LOW_CONFIDENCE * 100),
    )


def routes() -> list[Route]:
    return [Route("/console", dashboard, methods=["GET", "HEAD"], name="console_dashboard")]
