"""Costs: hourly rates by device, the rates file, per-clip API comparisons, the default plugin."""

from __future__ import annotations

import pluggy
import pytest

from ltxflow import hookspecs
from ltxflow.costs import (
    DEFAULT_RATES,
    ApiPrice,
    CostsConfigError,
    Rates,
    Usage,
    comparison_range,
    estimate_task_cost,
    load_rates,
)
from ltxflow.default_plugins import costs as cost_plugin
from ltxflow.errors import LtxflowError


def test_hourly_rate_longest_substring_wins_case_insensitively():
    rates = Rates(hourly=(("A10", 0.75), ("A100", 1.5), ("cpu", 0.1)), default=9.0)
    assert rates.hourly_rate("NVIDIA A100-SXM4-80GB") == 1.5  # "A10" also matches but is shorter
    assert rates.hourly_rate("NVIDIA A10G") == 0.75
    assert rates.hourly_rate("CPU") == 0.1
    assert rates.hourly_rate("Apple M3") == 9.0


def _plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("ltxflow")
    pm.add_hookspecs(hookspecs)
    pm.register(cost_plugin)
    pm.check_pending()
    return pm


def test_default_plugin_device_line_is_seconds_times_hourly_rate(tmp_path, monkeypatch):
    rates_file = tmp_path / "rates.toml"
    rates_file.write_text('default = 1.0\n[hourly]\n"H100" = 3.60\n')
    monkeypatch.setenv("LTXFLOW_RATES", str(rates_file))
    usage = Usage(device="NVIDIA H100 80GB HBM3", device_seconds=90.0, clips=2)

    (items,) = _plugin_manager().hook.cost_items(task=object(), usage=usage)

    actual = [i for i in items if i.kind == "actual"]
    assert len(actual) == 1
    (device,) = actual
    assert (device.source, device.unit, device.currency) == ("device", "hour", "USD")
    assert device.quantity == pytest.approx(90.0 / 3600)
    assert device.unit_price == 3.60
    assert device.amount == pytest.approx(0.09)  # 90 s at $3.60/h
    assert device.amount_max is None


def test_default_plugin_compares_with_per_clip_api_price_ranges(monkeypatch):
    monkeypatch.delenv("LTXFLOW_RATES", raising=False)
    usage = Usage(device="cpu", device_seconds=10.0, clips=3)

    (items,) = _plugin_manager().hook.cost_items(task=None, usage=usage)

    comparison = {i.source: i for i in items if i.kind == "comparison"}
    assert set(comparison) == {"sora", "runway-gen3", "kling"}
    expected = {"sora": (0.04, 0.12), "runway-gen3": (0.05, 0.15), "kling": (0.06, 0.18)}
    for source, (low, high) in expected.items():
        item = comparison[source]
        assert (item.quantity, item.unit, item.unit_price) == (3.0, "clip", low)
        assert item.amount == pytest.approx(3 * low)
        assert item.amount_max == pytest.approx(3 * high)
    assert comparison_range(items) == pytest.approx((3 * 0.04, 3 * 0.18))


def test_rates_file_merges_over_defaults(tmp_path):
    path = tmp_path / "rates.toml"
    path.write_text('default = 0.5\n[hourly]\n"RTX 3090" = 0.3\n[per_clip]\n"sora" = [0.10, 0.50]\n"veo" = [0.2, 0.4]\n')

    rates = load_rates(path)

    assert rates.default == 0.5
    assert rates.hourly_rate("NVIDIA GeForce RTX 3090") == 0.3
    assert rates.hourly_rate("NVIDIA H100") == DEFAULT_RATES.hourly_rate("NVIDIA H100")  # defaults kept
    apis = {a.source: a for a in rates.per_clip}
    assert apis["sora"] == ApiPrice("sora", "Sora", 0.10, 0.50)
    assert apis["veo"] == ApiPrice("veo", "veo", 0.2, 0.4)
    assert apis["kling"] == ApiPrice("kling", "Kling", 0.06, 0.18)


def test_no_rates_file_gives_defaults():
    assert load_rates(env={}) is DEFAULT_RATES


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("default = -1\n", "default: price must be a finite number >= 0"),
        ("defualt = 1\n", "unknown key 'defualt'"),
        ('[hourly]\n"H100" = "cheap"\n', "hourly.H100: expected a number"),
        ('[per_clip]\n"sora" = [0.2, 0.1]\n', "per_clip.sora: high price 0.1 is below low price 0.2"),
        ('[per_clip]\n"sora" = 0.1\n', "per_clip.sora: expected [low, high]"),
        ("hourly = 3\n", "hourly: expected a table"),
        ("default = \n", "TOML syntax error"),
    ],
)
def test_bad_rates_file_is_a_one_line_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "rates.toml"
    path.write_text(content)
    with pytest.raises(CostsConfigError) as info:
        load_rates(env={"LTXFLOW_RATES": str(path)})
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert isinstance(info.value, LtxflowError)


def test_missing_rates_file_is_an_error(tmp_path):
    with pytest.raises(CostsConfigError, match="rates file not found"):
        load_rates(tmp_path / "nope.toml")


def test_estimate_matches_what_the_plugin_would_record(monkeypatch, tmp_path):
    """Plan's estimate and the recorded lines, each against prices worked out by hand from a rates file (so a
    wrong unit in device_cost, which both sides share, cannot cancel out)."""
    rates_file = tmp_path / "rates.toml"
    rates_file.write_text('[hourly]\n"H200" = 7.20\n\n[per_clip]\n"sora" = [0.10, 0.30]\n')
    monkeypatch.setenv("LTXFLOW_RATES", str(rates_file))
    usage = Usage(device="NVIDIA H200", device_seconds=90.0, clips=2)

    estimate = estimate_task_cost(usage, load_rates())
    items = cost_plugin.cost_items(task=None, usage=usage)

    (actual,) = [i for i in items if i.kind == "actual"]
    assert actual.amount == pytest.approx(0.18)  # 90 s = 0.025 h at $7.20/h
    assert (actual.quantity, actual.unit, actual.unit_price) == (pytest.approx(0.025), "hour", 7.20)
    assert estimate.money == pytest.approx(0.18) and estimate.device_seconds == 90.0
    # 2 clips: runway-gen3 is cheapest at 2 x $0.05, sora (from the file) dearest at 2 x $0.30
    assert (estimate.comparison_low, estimate.comparison_high) == pytest.approx((0.10, 0.60))
    sora = next(i for i in items if i.source == "sora")
    assert (sora.amount, sora.amount_max) == pytest.approx((0.20, 0.60))
