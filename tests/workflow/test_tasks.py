"""Tasks: ids hash everything that determines the output except paths; safe file names."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from ltxflow.campaign import load_campaign
from ltxflow.plan import build_tasks
from ltxflow.tasks import deliverable_path, safe_name


def _ids(folder):
    return {t.variant_id: t.id for t in build_tasks(load_campaign(folder))}


def test_ids_stable_and_change_only_with_their_row(make_campaign, tmp_path):
    folder = make_campaign()
    first = _ids(folder)
    assert first == _ids(folder) and len(set(first.values())) == 2
    csv = (folder / "variants.csv").read_text().replace("blue mug", "green mug")
    (folder / "variants.csv").write_text(csv)
    second = _ids(folder)
    assert second["alpha"] == first["alpha"] and second["beta"] != first["beta"]


def test_ids_ignore_paths_but_hash_file_content(make_campaign, toml, tmp_path):
    folder = make_campaign(toml(extra='[conditioning]\nimage = "ref.png"'))
    (folder / "ref.png").write_bytes(b"one")
    before = _ids(folder)
    moved = shutil.copytree(folder, tmp_path / "elsewhere" / "spring")
    assert _ids(moved) == before  # moving the campaign keeps the ids
    (moved / "ref.png").write_bytes(b"two")
    assert set(_ids(moved).values()).isdisjoint(before.values())  # new image bytes: new tasks


def test_every_setting_is_part_of_the_id(make_campaign):
    task = build_tasks(load_campaign(make_campaign()))[0]
    changed = [replace(task, seed=2), replace(task, steps=3), replace(task, fps="25/1"), replace(task, prompt="x"),
               replace(task, video_guidance=replace(task.video_guidance, cfg=4.0)), replace(task, platforms=("t-tall",)),
               replace(task, checkpoint_id="other"), replace(task, negative_prompt="")]  # fmt: skip
    assert len({t.id for t in changed} | {task.id}) == len(changed) + 1
    assert replace(task, checkpoint="/elsewhere/tiny").id == task.id


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [("../../etc/passwd", "etc_passwd"), ("/abs/path", "abs_path"), ("", "unnamed"), ("..", "unnamed"),
     ("caf\u00e9 \u2615", "caf_"), ("a" * 300, "a" * 64), ("con.mp4", "con.mp4"), ("...x", "x")],
)  # fmt: skip
def test_safe_name_keeps_files_inside_the_folder(tmp_path, hostile, expected):
    name = safe_name(hostile)
    assert name == expected
    path = deliverable_path(tmp_path, name, ".mp4")
    assert path.parent == tmp_path and path.resolve().is_relative_to(tmp_path.resolve())


def test_stem_readable_and_deliverable_path_refuses_unsafe(make_campaign, tmp_path):
    task = build_tasks(load_campaign(make_campaign()))[0]
    assert task.stem("t-tall") == "spring__alpha__s1__t-tall"
    assert replace(task, variant_id="../../x").stem() == "spring__x__s1"
    with pytest.raises(ValueError, match="unsafe file name"):
        deliverable_path(tmp_path, "../x", ".mp4")
