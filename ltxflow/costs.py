"""Money: device usage, configured hourly rates, per-clip API price comparisons and estimates.

Rates file (TOML; path given by the env var ``LTXFLOW_RATES`` or passed to :func:`load_rates`)::

    default = 1.50              # USD per device hour for any device no entry below matches

    [hourly]                    # device-name substring (case-insensitive) = USD per device hour
    "H100" = 2.49               # the longest matching substring wins: "A10" never shadows "A100"
    "cpu" = 0.0

    [per_clip]                  # commercial per-clip API prices to compare with: [low, high] USD
    "sora" = [0.04, 0.12]

Every key is optional. Entries are merged over :data:`DEFAULT_RATES` (the file adds or overrides
devices and APIs; it never removes one). Unknown keys, negative or non-numeric prices are errors
that name the file and the key. All money is in US dollars.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ltxflow.errors import LtxflowError

RATES_ENV = "LTXFLOW_RATES"
CURRENCY = "USD"


class CostsConfigError(LtxflowError):
    """A rates file that cannot be read or holds a bad value."""


# ── Data ────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Usage:
    """What one task used."""

    device: str  # torch device name: "cpu", "NVIDIA H100 80GB HBM3", ...
    device_seconds: float  # seconds the device was held for this task, every stage included (export too)
    clips: int = 1  # clips generated (what a per-clip API would bill)
    stages: tuple[tuple[str, float], ...] = ()  # (stage, device seconds) making up device_seconds, when known


@dataclass(frozen=True)
class CostItem:
    """One money line of a task: what was spent, or what a commercial API would have charged."""

    source: str  # plugin or provider: "device", "sora", "runway-gen3", "kling", ...
    description: str
    kind: Literal["actual", "comparison"]  # comparison = a per-clip API's price for the same clips
    quantity: float  # in `unit`s, e.g. 0.0123 (hours) or 1 (clip)
    unit: str  # "hour", "clip", ...
    unit_price: float  # currency per unit (the low price when a range is given)
    amount: float  # quantity × unit_price (the low end of a range)
    currency: str = CURRENCY
    amount_max: float | None = None  # high end when the price is a range, else None


@dataclass(frozen=True)
class ApiPrice:
    """A commercial per-clip video API's price range."""

    source: str  # stable id recorded in the ledger: "sora"
    name: str  # human name: "Sora"
    low: float  # USD per clip
    high: float  # USD per clip


@dataclass(frozen=True)
class Rates:
    """Configured prices: USD per device hour by device-name substring, and per-clip API prices."""

    hourly: tuple[tuple[str, float], ...]  # (substring, USD/hour); longest case-insensitive match wins
    default: float  # USD/hour for a device that matches no substring
    per_clip: tuple[ApiPrice, ...] = ()  # APIs to compare with

    def hourly_rate(self, device: str) -> float:
        """USD per hour for the named device."""
        name = device.lower()
        matches = [(len(key), rate) for key, rate in self.hourly if key.lower() in name]
        if not matches:
            return self.default
        return max(matches, key=lambda m: m[0])[1]


@dataclass(frozen=True)
class Estimate:
    """A task's expected money: device cost and the per-clip API comparison range."""

    device_seconds: float
    money: float  # USD at the configured hourly rate
    comparison_low: float  # USD, cheapest API at its low price
    comparison_high: float  # USD, dearest API at its high price
    currency: str = CURRENCY


# Ballpark on-demand cloud prices (USD per GPU hour, 2025); set your own in a rates file.
DEFAULT_HOURLY: tuple[tuple[str, float], ...] = (
    ("H200", 3.50),
    ("H100", 2.50),
    ("A100", 1.50),
    ("L40S", 1.00),
    ("A10", 0.75),
    ("L4", 0.70),
    ("RTX 4090", 0.60),
    ("cpu", 0.10),
)
DEFAULT_API_PRICES: tuple[ApiPrice, ...] = (
    ApiPrice("sora", "Sora", 0.04, 0.12),
    ApiPrice("runway-gen3", "Runway Gen-3", 0.05, 0.15),
    ApiPrice("kling", "Kling", 0.06, 0.18),
)
DEFAULT_RATES = Rates(hourly=DEFAULT_HOURLY, default=2.00, per_clip=DEFAULT_API_PRICES)


# ── Loading ─────────────────────────────────────────────────────────────────────────────────────


def load_rates(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Rates:
    """Rates from `path`, else from the file named by $LTXFLOW_RATES, else the defaults."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get(RATES_ENV) or None
    if path is None:
        return DEFAULT_RATES
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CostsConfigError(f"{path}: rates file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CostsConfigError(f"{path}: cannot read rates file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CostsConfigError(f"{path}: TOML syntax error: {exc}") from None
    return _rates_from_toml(data, path)


def _rates_from_toml(data: dict[str, object], path: Path) -> Rates:
    """Validate a parsed rates file and merge it over the defaults."""
    unknown = sorted(set(data) - {"default", "hourly", "per_clip"})
    if unknown:
        raise CostsConfigError(f"{path}: unknown key {unknown[0]!r} (allowed: default, hourly, per_clip)")
    default = _price(data.get("default", DEFAULT_RATES.default), path, "default")

    hourly = dict(DEFAULT_RATES.hourly)
    for key, value in _table(data.get("hourly", {}), path, "hourly").items():
        if not key.strip():
            raise CostsConfigError(f"{path}: hourly: empty device name")
        hourly[key] = _price(value, path, f"hourly.{key}")

    apis = {api.source: api for api in DEFAULT_RATES.per_clip}
    for key, value in _table(data.get("per_clip", {}), path, "per_clip").items():
        if not (isinstance(value, list) and len(value) == 2):
            raise CostsConfigError(f"{path}: per_clip.{key}: expected [low, high] USD per clip, got {value!r}")
        low = _price(value[0], path, f"per_clip.{key}")
        high = _price(value[1], path, f"per_clip.{key}")
        if high < low:
            raise CostsConfigError(f"{path}: per_clip.{key}: high price {high} is below low price {low}")
        name = apis[key].name if key in apis else key
        apis[key] = ApiPrice(key, name, low, high)
    return Rates(hourly=tuple(hourly.items()), default=default, per_clip=tuple(apis.values()))


def _table(value: object, path: Path, key: str) -> dict[str, object]:
    """A TOML table or a clear error."""
    if not isinstance(value, dict):
        raise CostsConfigError(f"{path}: {key}: expected a table, got {value!r}")
    return value


def _price(value: object, path: Path, key: str) -> float:
    """A finite non-negative number or a clear error."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CostsConfigError(f"{path}: {key}: expected a number (USD), got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise CostsConfigError(f"{path}: {key}: price must be a finite number >= 0, got {value!r}")
    return float(value)


# ── Pricing ─────────────────────────────────────────────────────────────────────────────────────


def device_cost(usage: Usage, rates: Rates) -> CostItem:
    """The actual money line: device hours × the device's hourly rate."""
    hours = usage.device_seconds / 3600.0
    rate = rates.hourly_rate(usage.device)
    return CostItem(
        source="device",
        description=f"{usage.device_seconds:.1f} s on {usage.device} at ${rate:.2f}/h" + _breakdown(usage),
        kind="actual",
        quantity=hours,
        unit="hour",
        unit_price=rate,
        amount=hours * rate,
    )


def _breakdown(usage: Usage) -> str:
    """" (load 2.0 s, denoise 5.1 s, ...)" from the usage's stages, "" without them."""
    if not usage.stages:
        return ""
    return " (" + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in usage.stages) + ")"


def api_comparisons(usage: Usage, rates: Rates) -> list[CostItem]:
    """What each commercial per-clip API would have charged for the same clips (low–high)."""
    return [
        CostItem(
            source=api.source,
            description=f"{api.name} at ${api.low:.2f}-{api.high:.2f} per clip",
            kind="comparison",
            quantity=float(usage.clips),
            unit="clip",
            unit_price=api.low,
            amount=usage.clips * api.low,
            amount_max=usage.clips * api.high,
        )
        for api in rates.per_clip
    ]


def comparison_range(items: list[CostItem]) -> tuple[float, float]:
    """(cheapest API's low total, dearest API's high total) over the comparison items, by source."""
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    for item in items:
        if item.kind != "comparison":
            continue
        low[item.source] = low.get(item.source, 0.0) + item.amount
        top = item.amount if item.amount_max is None else item.amount_max
        high[item.source] = high.get(item.source, 0.0) + top
    if not low:
        return 0.0, 0.0
    return min(low.values()), max(high.values())


def estimate_task_cost(usage: Usage, rates: Rates | None = None) -> Estimate:
    """A task's expected money for `plan` and budgets, from an estimated `usage`."""
    rates = DEFAULT_RATES if rates is None else rates
    low, high = comparison_range(api_comparisons(usage, rates))
    return Estimate(
        device_seconds=usage.device_seconds,
        money=device_cost(usage, rates).amount,
        comparison_low=low,
        comparison_high=high,
    )


__all__ = [
    "CURRENCY",
    "DEFAULT_RATES",
    "RATES_ENV",
    "ApiPrice",
    "CostItem",
    "CostsConfigError",
    "Estimate",
    "Rates",
    "Usage",
    "api_comparisons",
    "comparison_range",
    "device_cost",
    "estimate_task_cost",
    "load_rates",
]
