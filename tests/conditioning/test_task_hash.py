"""Conditioning files enter task ids by content: replacing a photo regenerates exactly the variants that use it."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ltxflow.campaign import load_campaign
from ltxflow.plan import build_tasks
from ltxflow.variants import VariantsError

REPO = Path(__file__).resolve().parents[2]


def copy_demo(tmp_path: Path) -> Path:
    """The shipped product-photo campaign and its template, copied under tmp_path; returns the campaign folder."""
    shutil.copytree(REPO / "campaigns/product-photo", tmp_path / "campaigns/product-photo")
    (tmp_path / "templates").mkdir()
    shutil.copy(REPO / "templates/product_photo.j2", tmp_path / "templates")
    return tmp_path / "campaigns/product-photo"


def ids(folder: Path) -> dict[str, str]:
    return {t.variant_id: t.id for t in build_tasks(load_campaign(folder))}


def test_replacing_a_photo_changes_only_the_variants_using_it(tmp_path):
    folder = copy_demo(tmp_path)
    before = ids(folder)
    assert len(set(before.values())) == 3
    Image.fromarray(np.full((256, 256, 3), 90, np.uint8)).save(folder / "assets/product_sage.png")
    after_sage = ids(folder)
    assert {v for v in before if before[v] != after_sage[v]} == {"sage-edition"}
    Image.fromarray(np.full((256, 256, 3), 30, np.uint8)).save(folder / "assets/product.png")
    after_main = ids(folder)
    assert {v for v in before if after_sage[v] != after_main[v]} == {"bathroom-shelf", "spa-stone"}


def test_moving_or_renaming_identical_files_keeps_ids(tmp_path):
    folder = copy_demo(tmp_path)
    before = ids(folder)
    (folder / "assets").rename(folder / "media")
    toml = (folder / "campaign.toml").read_text().replace("assets/", "media/")
    (folder / "campaign.toml").write_text(toml)
    csv = (folder / "variants.csv").read_text().replace("assets/", "media/")
    (folder / "variants.csv").write_text(csv)
    assert ids(folder) == before


def test_new_brand_audio_changes_every_reference_variant(tmp_path):
    folder = copy_demo(tmp_path)
    before = ids(folder)
    data = bytearray((folder / "assets/sonic_logo.wav").read_bytes())
    data[-2:] = b"\x01\x02"  # one sample differs
    (folder / "assets/sonic_logo.wav").write_bytes(bytes(data))
    after = ids(folder)
    assert all(before[v] != after[v] for v in before)


def test_an_end_image_enters_the_ids_and_is_refused_for_video_to_audio(tmp_path):
    folder = copy_demo(tmp_path)
    before = ids(folder)
    toml = (folder / "campaign.toml").read_text()
    assert "image_strength = 1.0\n" in toml
    toml = toml.replace("image_strength = 1.0\n", 'image_strength = 1.0\nend_image = "assets/product_sage.png"\n'
                        "end_image_strength = 0.6\n")
    (folder / "campaign.toml").write_text(toml)
    tasks = build_tasks(load_campaign(folder))
    assert all(before[t.variant_id] != t.id for t in tasks)
    ends = {t.condition("end_image") for t in tasks}
    assert {(Path(c.path).name, c.strength) for c in ends} == {("product_sage.png", 0.6)}
    toml = toml.replace('mode = "reference"', 'mode = "video-to-audio"')
    (folder / "campaign.toml").write_text(toml.replace("end_image_strength = 0.6\n", "end_image_strength = 0.6\n"
                                                       'source_video = "assets/product.png"\n'))
    with pytest.raises(VariantsError, match="image and end_image: not used in audio mode 'video-to-audio'"):
        build_tasks(load_campaign(folder))
