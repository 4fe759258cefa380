"""The dashboard draws its charts for a manager, with the figures' formulas as tooltips."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CHARTS = ("chart-daily", "chart-categories", "chart-departments", "chart-hot-spots", "chart-stages")


def test_the_dashboard_draws_its_charts_for_a_manager(staff, back_office):
    number = back_office.open_ticket()
    back_office.repair_until(number, "carry_out_repair")  # three steps done: times per step to draw
    manager = staff("manager")

    manager.locator("#nav-admin").click()
    manager.locator("#admin-nav-dashboard").click()
    # Polled from here: wait_for_function may poll inside the page with eval, which the CSP refuses.
    for _ in range(100):
        if manager.evaluate("() => window.kefuCharts !== undefined"):
            break
        manager.wait_for_timeout(100)
    else:
        raise AssertionError("the dashboard's charts were not drawn")

    expect(manager.get_by_role("heading", level=1)).to_have_text("统计看板")
    expect(manager.locator("#kpi-received")).to_have_text("1")
    expect(manager.locator("#kpi-completion_rate")).to_have_text("0.0%")
    expect(manager.locator("[data-kpi=timeliness_rate]")).to_have_attribute(
        "title", "及时率 = 期间内按时限关闭的工单 ÷ 期间内关闭、有时限的工单（无时限的不计入）")
    for chart in CHARTS:
        expect(manager.locator(f"canvas#{chart}")).to_be_visible()
    drawn = manager.evaluate("""(ids) => ids.map((id) => {
        const chart = Chart.getChart(document.getElementById(id));
        return chart ? [id, chart.config.type, chart.data.labels.length] : [id, null, 0];
    })""", list(CHARTS))
    assert all(kind for _, kind, _ in drawn), drawn
    assert dict((chart, labels) for chart, _, labels in drawn)["chart-daily"] == 30
    assert dict((chart, labels) for chart, _, labels in drawn)["chart-stages"] >= 2
    assert manager.evaluate("window.kefuCharts.length") == len(CHARTS)
    box = manager.locator("canvas#chart-daily").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
