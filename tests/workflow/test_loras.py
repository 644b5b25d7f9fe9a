"""LoRAs in campaign.toml (`[[lora]]`) and in rows (`lora`, `lora_strength`): parsing, merging, errors, task ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ltxflow import tasks as tasks_module
from ltxflow.campaign import load_campaign
from ltxflow.errors import CampaignError, VariantsError
from ltxflow.loras import LoraEntry, RowLora, merged, row_loras
from ltxflow.plan import build_tasks
from ltxflow.variants import load_variants

from .conftest import CSV, campaign_toml, write_campaign

LORAS = """
[[lora]]
path = "brand.safetensors"
strength = 0.8

[[lora]]
path = "distilled.safetensors"
stage = "refine"
"""


def with_files(folder: Path, *names: str) -> Path:
    for name in names:
        (folder / name).write_bytes(name.encode())  # content only needs to be hashed here
    return folder


def campaign_with(tmp_path: Path, toml: str, csv: str = CSV) -> Path:
    folder = write_campaign(tmp_path, toml, csv)
    return with_files(folder, "brand.safetensors", "distilled.safetensors", "style.safetensors")


def test_campaign_entries_with_strengths_and_stages(tmp_path):
    folder = campaign_with(tmp_path, campaign_toml(extra=LORAS, generation='pipeline = "two-stage"'))
    entries = load_campaign(folder).lora
    assert [(e.path, e.strength, e.stage) for e in entries] == [(folder.absolute() / "brand.safetensors", 0.8, "all"),
                                                                (folder.absolute() / "distilled.safetensors", 1.0,
                                                                 "refine")]  # fmt: skip


@pytest.mark.parametrize(("extra", "generation", "message"), [
    ('[[lora]]\npath = "nowhere.safetensors"', "", "lora.0.path: file not found: "),
    ('[[lora]]\npath = "brand.safetensors"\nstrength = "high"', "", "lora.0.strength: expected a number"),
    ('[[lora]]\npath = "brand.safetensors"\nweight = 1', "", "unknown key 'lora.0.weight' (allowed: path, strength, "
                                                              "stage)"),
    ('[[lora]]\npath = "brand.safetensors"\nstage = "stage2"', "", "lora.0.stage: 'stage2' is not one of all, refine"),
    (LORAS, "", "lora.1.stage: \"refine\" is the two-stage pipeline's refinement; the pipeline is 'one-stage'"),
    ('[[lora]]\npath = "brand.safetensors"', 'pipeline = "two-stage"\ncheckpoint = "brand.safetensors"',
     "lora: the two-stage pipeline refines with the distilled LoRA fused"),
], ids=["missing", "strength", "unknown-key", "stage", "refine-one-stage", "two-stage-needs-distilled"])
def test_bad_campaign_entries_name_file_and_key(tmp_path, extra, generation, message):
    folder = campaign_with(tmp_path, campaign_toml(extra=extra, generation=generation))
    with pytest.raises(CampaignError) as info:
        load_campaign(folder)
    assert str(info.value).startswith(f"{folder.absolute() / 'campaign.toml'}: ") and message in str(info.value)


def test_row_columns_parse_one_strength_for_all_or_one_each(tmp_path):
    def row(lora: str, strength: str = "") -> tuple[RowLora, ...]:
        return row_loras(tmp_path, "v.csv: row 2", {"lora": lora, "lora_strength": strength})

    assert row("") == ()
    assert row("a.safetensors") == (RowLora(tmp_path / "a.safetensors", 1.0),)
    assert row(" a.safetensors ; b.safetensors ", "0.5") == (RowLora(tmp_path / "a.safetensors", 0.5),
                                                            RowLora(tmp_path / "b.safetensors", 0.5))
    assert row("a.safetensors;b.safetensors", "0.5; -1") == (RowLora(tmp_path / "a.safetensors", 0.5),
                                                            RowLora(tmp_path / "b.safetensors", -1.0))
    for lora, strength, message in (("a;b;c", "1;2", "2 strengths for 3 LoRA paths"),
                                    ("a", "strong", "expected a number, got 'strong'"),
                                    ("", "0.5", "given without a lora path")):
        with pytest.raises(VariantsError, match=f"^v.csv: row 2: lora_strength: .*{message}"):
            row(lora, strength)


def test_a_row_overrides_a_campaign_entry_by_its_file_and_adds_the_rest(tmp_path):
    brand, style = tmp_path / "brand.safetensors", tmp_path / "style.safetensors"
    brand.write_bytes(b"x")
    entries = [LoraEntry.model_validate({"path": "brand.safetensors", "strength": 0.8},
                                        context={"path": tmp_path / "campaign.toml"})]  # fmt: skip
    assert merged(entries, [RowLora(style, 1.5), RowLora(brand, 0.0)]) == [(brand, 0.0, "all"), (style, 1.5, "all")]
    assert merged(entries, []) == [(brand, 0.8, "all")]


def test_rows_become_task_loras_and_loraless_tasks_keep_their_ids(tmp_path):
    csv = "variant_id,product,scene,sound,avoid,lora,lora_strength\n" \
          "alpha,red mug,a kitchen,a kettle,text,style.safetensors;brand.safetensors,1.2;0.3\n" \
          "beta,blue mug,a window,rain,text,,\n"  # fmt: skip
    folder = campaign_with(tmp_path, campaign_toml(extra=LORAS.split("\n\n[[lora]]")[0]), csv)
    assert [v.loras for v in load_variants(load_campaign(folder))][1] == ()
    alpha, beta = build_tasks(load_campaign(folder))
    assert [(Path(r.path).name, r.strength, r.sha256) for r in alpha.loras] == [
        ("brand.safetensors", 0.3, hashlib.sha256(b"brand.safetensors").hexdigest()),
        ("style.safetensors", 1.2, hashlib.sha256(b"style.safetensors").hexdigest())]
    # a task without LoRAs hashes exactly the record it hashed before the `loras` field existed (ledgers keep
    # recognising finished tasks); with them, paths stay out of the id
    plain = build_tasks(load_campaign(write_campaign(tmp_path / "plain", campaign_toml(), csv)))[1]
    record = plain.record()
    record.pop("checkpoint"), record.pop("loras")
    for cond in record["conditioning"]:
        cond.pop("path")
    for key, neutral in tasks_module._ADDED_LATER.items():  # other settings added later stay out at their defaults
        if record[key] == neutral:
            record.pop(key)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert plain.id == hashlib.sha256(canonical.encode()).hexdigest()[:16]
