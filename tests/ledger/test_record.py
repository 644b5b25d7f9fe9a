"""Recording runs, tasks, outputs and costs, and reading them back: spent, outputs, summaries."""

from __future__ import annotations

import pytest

from ltxflow.costs import DEFAULT_RATES, Usage, api_comparisons, device_cost
from ltxflow.ledger import LedgerError

H100 = Usage(device="NVIDIA H100 80GB HBM3", device_seconds=72.0, clips=1)


def _costs(usage: Usage):
    return [device_cost(usage, DEFAULT_RATES), *api_comparisons(usage, DEFAULT_RATES)]


def _money(usage: Usage) -> float:
    return usage.device_seconds / 3600 * DEFAULT_RATES.hourly_rate(usage.device)


def test_record_task_then_read_back(ledger, make_task, make_outputs):
    run = ledger.start_run("spring", "run", planned_tasks=2)
    task = make_task()
    ledger.record_task(run, task, make_outputs(task), _costs(H100), H100)

    assert ledger.finished_task_ids("spring") == {task.task_id}
    assert ledger.finished_task_ids("other") == set()
    assert ledger.spent("spring") == pytest.approx(_money(H100))
    assert ledger.spent("other") == 0.0
    outputs = ledger.outputs("spring")
    assert [(o.platform, o.path, o.bytes, o.spec_ok) for o in outputs] == [
        ("reels", "out/v1-1-reels.mp4", 1005, True),
        ("shorts", "out/v1-1-shorts.mp4", 1006, True),
        ("tiktok", "out/v1-1-tiktok.mp4", 1006, False),
    ]
    assert {(o.run_id, o.task_id, o.campaign, o.variant_id, o.seed) for o in outputs} == {
        (run, task.task_id, "spring", "v1", 1)
    }
    assert outputs[2].spec_problems == "duration 3.0 s < 5 s"
    assert outputs[0].probe_json == '{"fps": "24/1"}'


def test_run_counts_and_status(ledger, make_task, make_outputs):
    run = ledger.start_run("spring", "run", planned_tasks=5, skipped=1)
    for variant in ("v1", "v2"):
        task = make_task(variant_id=variant)
        ledger.record_task(run, task, make_outputs(task), [], H100)
    ledger.record_failure(run, make_task(variant_id="v3"), "CUDA out of memory", H100)

    record = ledger.finish_run(run, "interrupted")

    assert (record.finished, record.failed, record.skipped, record.pending) == (2, 1, 1, 1)
    assert (record.status, record.campaign, record.command, record.planned_tasks) == ("interrupted", "spring", "run", 5)
    assert record.finished_utc is not None and record.duration_ms >= 0
    assert ledger.run(run) == record
    with pytest.raises(LedgerError, match="is interrupted; start a new run"):
        ledger.record_task(run, make_task(variant_id="v4"), [], [], H100)


def test_run_ids_sort_by_start(ledger):
    ids = [ledger.start_run("spring", "run", 0) for _ in range(20)]
    assert sorted(ids) == ids and len(set(ids)) == 20
    assert [r.run_id for r in ledger.runs("spring")] == ids
    assert all(r.status == "running" and r.finished_utc is None for r in ledger.runs())


def test_rerun_replaces_a_failure(ledger, make_task, make_outputs):
    task = make_task()
    first = ledger.start_run("spring", "run", 1)
    ledger.record_failure(first, task, "engine crashed", Usage("cpu", 5.0), costs=_costs(Usage("cpu", 5.0))[:1])
    assert ledger.finished_task_ids("spring") == set()
    ledger.finish_run(first, "failed")

    second = ledger.start_run("spring", "run", 1)
    ledger.record_task(second, task, make_outputs(task), _costs(H100), H100)

    assert ledger.finished_task_ids("spring") == {task.task_id}
    (row,) = ledger.summary("variant", "spring")
    assert (row.tasks, row.failed, row.outputs) == (1, 0, 3)
    assert row.device_seconds == pytest.approx(77.0)  # both attempts' device time
    assert row.money == pytest.approx(_money(H100) + _money(Usage("cpu", 5.0)))  # both attempts were paid
    assert ledger.spent("spring") == pytest.approx(row.money)
    assert {o.run_id for o in ledger.outputs()} == {second}
    assert ledger.run(first).failed == 1 and ledger.finish_run(second, "finished").finished == 1


def test_failure_after_a_result_drops_the_old_files(ledger, make_task, make_outputs):
    task = make_task()
    run = ledger.start_run("spring", "run", 1)
    ledger.record_task(run, task, make_outputs(task), [], H100)
    ledger.record_failure(run, task, "export failed", None)
    assert ledger.finished_task_ids("spring") == set()
    assert ledger.outputs() == []


def test_rerecording_a_task_replaces_its_outputs(ledger, make_task, make_outputs):
    task = make_task()
    run = ledger.start_run("spring", "run", 1)
    ledger.record_task(run, task, make_outputs(task), [], H100)
    ledger.record_task(run, task, make_outputs(task, ("reels",)), [], H100)
    assert [o.platform for o in ledger.outputs()] == ["reels"]


def test_bad_writes_are_refused(ledger, make_task, make_outputs):
    with pytest.raises(LedgerError, match="unknown run id 'nope'"):
        ledger.record_task("nope", make_task(), [], [], H100)
    run = ledger.start_run("spring", "run", 1)
    other = make_task(variant_id="v2")
    with pytest.raises(LedgerError, match="belongs to task 'spring-v2-1', not 'spring-v1-1'"):
        ledger.record_task(run, make_task(), make_outputs(other), [], H100)
    with pytest.raises(LedgerError, match="status must be one of"):
        ledger.finish_run(run, "done")
    with pytest.raises(LedgerError, match="unknown run id"):
        ledger.finish_run("nope", "finished")
    assert ledger.finished_task_ids("spring") == set()


def _three_variants(ledger, make_task, make_outputs):
    """spring: v1 (3 platforms + master), v2 (reels only), v3 failed; autumn: v1 (reels)."""
    run = ledger.start_run("spring", "run", 3)
    v1, v2 = make_task(variant_id="v1"), make_task(variant_id="v2")
    ledger.record_task(run, v1, make_outputs(v1, ("reels", "shorts", "tiktok", "")), _costs(H100), H100)
    cpu = Usage("cpu", 3600.0, clips=2)
    ledger.record_task(run, v2, make_outputs(v2, ("reels",)), _costs(cpu), cpu)
    ledger.record_failure(run, make_task(variant_id="v3"), "boom", Usage("cpu", 10.0))
    other = ledger.start_run("autumn", "run", 1)
    a1 = make_task(campaign="autumn")
    ledger.record_task(other, a1, make_outputs(a1, ("reels",)), _costs(H100), H100)
    return cpu


def test_summary_by_campaign_and_variant(ledger, make_task, make_outputs):
    cpu = _three_variants(ledger, make_task, make_outputs)

    rows = {r.key: r for r in ledger.summary("campaign")}
    assert set(rows) == {"spring", "autumn"}
    spring = rows["spring"]
    assert (spring.tasks, spring.failed, spring.outputs) == (2, 1, 5)
    assert spring.device_seconds == pytest.approx(72 + 3600 + 10)
    assert spring.money == pytest.approx(_money(H100) + _money(cpu))
    # 3 clips: cheapest API low (Sora 0.04) to dearest API high (Kling 0.18)
    assert (spring.comparison_low, spring.comparison_high) == pytest.approx((3 * 0.04, 3 * 0.18))

    variants = {r.key: r for r in ledger.summary("variant", "spring")}
    assert set(variants) == {"v1", "v2", "v3"}
    assert (variants["v2"].tasks, variants["v2"].outputs, variants["v2"].money) == (1, 1, pytest.approx(_money(cpu)))
    assert (variants["v3"].tasks, variants["v3"].failed, variants["v3"].money) == (0, 1, 0.0)
    assert variants["v3"].device_seconds == 10.0
    assert sum(v.money for v in variants.values()) == pytest.approx(spring.money)


def test_summary_by_platform_splits_task_totals_over_delivery_files(ledger, make_task, make_outputs):
    cpu = _three_variants(ledger, make_task, make_outputs)

    rows = {r.key: r for r in ledger.summary("platform", "spring")}

    assert set(rows) == {"reels", "shorts", "tiktok", ""}
    assert (rows["reels"].tasks, rows["reels"].outputs) == (2, 2)
    assert rows["reels"].money == pytest.approx(_money(H100) / 3 + _money(cpu))
    assert rows["shorts"].device_seconds == pytest.approx(72 / 3)
    assert rows[""].outputs == 1 and rows[""].money == 0.0  # the master shares nothing while deliveries exist
    assert sum(r.money for r in rows.values()) == pytest.approx(ledger.spent("spring"))
    assert rows["shorts"].comparison_low == pytest.approx(0.04 / 3)
    with pytest.raises(LedgerError, match="'by' must be one of"):
        ledger.summary("seed")
