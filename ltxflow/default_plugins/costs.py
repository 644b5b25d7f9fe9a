"""Built-in cost lines: device time at the configured hourly rate, and per-clip API price comparisons."""

from __future__ import annotations

from ltxflow.costs import CostItem, Usage, api_comparisons, device_cost, load_rates
from ltxflow.hookspecs import hookimpl


@hookimpl
def cost_items(task: object, usage: Usage) -> list[CostItem]:
    """Device seconds × hourly rate ("actual") plus what Sora, Runway Gen-3 and Kling would charge."""
    rates = load_rates()  # re-read each task so an edited $LTXFLOW_RATES file applies at once
    return [device_cost(usage, rates), *api_comparisons(usage, rates)]
