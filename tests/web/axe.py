"""Runs axe-core (from widget/node_modules, pinned in widget/package.json) inside the page."""
from __future__ import annotations

from typing import Any, Dict

from playwright.sync_api import Page

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def run_axe(page: Page, axe_source: str, include: str = "ketamine-faq-chat") -> Dict[str, Any]:
    """Inject axe through the DevTools protocol (page CSP does not apply to it) and run it.

    `include` limits the audit to the widget; pass "html" to audit the whole page."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source + "\n;void 0;")
    return page.evaluate(
        """async ([include, tags]) => {
            const r = await axe.run({ include: [include] }, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
            const slim = v => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                                 nodes: v.nodes.map(n => ({ target: n.target, summary: n.failureSummary })) });
            return { violations: r.violations.map(slim), passes: r.passes.length, incomplete: r.incomplete.length,
                     version: axe.version };
        }""",
        [include, TAGS],
    )
