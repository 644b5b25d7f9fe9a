"""Variants CSV: checked row by row before anything runs; expansion modes."""

from __future__ import annotations

import pytest

from ltxflow.campaign import load_campaign
from ltxflow.errors import VariantsError
from ltxflow.plan import build_tasks
from ltxflow.variants import load_variants


def _variants(make_campaign, csv, toml=None):
    return load_variants(load_campaign(make_campaign(toml, csv=csv)))


def test_rows_become_variants_with_text_cells(make_campaign):
    rows = _variants(make_campaign, "variant_id,product,n\na,mug,007\nb,cup,\n")
    assert [v.variant_id for v in rows] == ["a", "b"]
    assert rows[0].values["n"] == "007" and rows[1].values["n"] == ""  # no number or NA guessing
    assert rows[1].row == "row 3"


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("", "empty file"),
        ("variant_id,product\n", "no variant rows under the header"),
        ("product\nmug\n", "missing column 'variant_id'"),
        ("variant_id,product\na,mug\nb,cup\na,bowl\n", "row 4: duplicate variant_id 'a' (first at row 2)"),
        ("variant_id,product\nHero,mug\nhero,cup\n", "row 3: duplicate variant_id 'hero'"),
        ("variant_id,product\n,mug\n", "row 2: empty variant_id"),
        ("variant_id,product,product\na,b,c\n", "column 'product' appears twice"),
        ('variant_id,product\na,"unclosed\n', "CSV syntax error"),
    ],
)
def test_bad_tables_name_file_and_row(make_campaign, csv, message):
    with pytest.raises(VariantsError) as err:
        _variants(make_campaign, csv)
    assert "variants.csv: " in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "/etc/passwd", "a/b", "..", ".hidden", "caf\u00e9", "x" * 65, "a b"])
def test_hostile_variant_ids_are_rejected_with_row(make_campaign, hostile):
    with pytest.raises(VariantsError, match=r"variants.csv: row 2: variant_id .* must be 1-64 of"):
        _variants(make_campaign, f'variant_id,product\n"{hostile}",mug\n')


def test_binary_and_non_utf8_files(make_campaign):
    folder = make_campaign()
    (folder / "variants.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(VariantsError, match=r"variants.csv: looks binary"):
        load_variants(load_campaign(folder))
    (folder / "variants.csv").write_bytes("variant_id,product\na,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(VariantsError, match=r"variants.csv: not UTF-8 text"):
        load_variants(load_campaign(folder))
    (folder / "variants.csv").write_bytes("\ufeffvariant_id,product\na,caf\u00e9\n".encode())
    assert load_variants(load_campaign(folder))[0].values["product"] == "caf\u00e9"  # BOM from Excel is fine


def test_eight_images_and_eight_prompts_make_eight_tasks(make_campaign, toml):
    folder = make_campaign(csv="x")
    lines = ["variant_id,product,scene,sound,avoid,image"]
    for i in range(8):
        (folder / f"img{i}.png").write_bytes(bytes([i]) * 10)
        lines.append(f"v{i},mug {i},scene {i},sound {i},blur,img{i}.png")
    (folder / "variants.csv").write_text("\n".join(lines) + "\n")
    tasks = build_tasks(load_campaign(folder))
    assert len(tasks) == 8
    for i, task in enumerate(tasks):  # each image stays with its own row's prompt
        assert f"mug {i}" in task.prompt
        assert task.condition("image").path == str(folder.absolute() / f"img{i}.png")


def test_cartesian_crosses_named_columns(make_campaign, toml):
    csv = "variant_id,product,scene,sound,avoid\nh1,mug,kitchen,kettle,x\nh2,,garden,birds,x\nh3,,beach,waves,x\n"
    cfg = toml(extra='[expand]\nmode = "cartesian"\ncolumns = ["scene", "product"]')
    folder = make_campaign(cfg, csv=csv)
    rows = load_variants(load_campaign(folder))
    assert [v.variant_id for v in rows] == ["h1-h1", "h2-h1", "h3-h1"]  # 3 scenes x 1 product (blanks skipped)
    assert rows[1].values["scene"] == "garden" and rows[1].values["product"] == "mug"
    assert rows[1].values["sound"] == "birds"  # other columns follow the first crossed column's row
    assert rows[2].row == "rows 4+2"


def test_row_files_platforms_and_strength_checked(make_campaign, toml):
    missing_file = "variant_id,product,scene,sound,avoid,image\na,m,s,x,y,missing.png\n"
    (row,) = _variants(make_campaign, missing_file)  # a missing file fails that variant's tasks at run time
    assert row.files["image"].name == "missing.png" and row.files["image"].is_absolute()
    bad_platform = "variant_id,product,scene,sound,avoid,platforms\na,m,s,x,y,t-tall tiktok\n"
    with pytest.raises(VariantsError, match=r"row 2: platforms: 'tiktok' is not a campaign platform"):
        _variants(make_campaign, bad_platform)
    bad_strength = "variant_id,product,scene,sound,avoid,image_strength\na,m,s,x,y,1.5\n"
    with pytest.raises(VariantsError, match=r"row 2: image_strength: must be in \[0, 1\], got 1.5"):
        _variants(make_campaign, bad_strength)
    ok = "variant_id,product,scene,sound,avoid,platforms\na,m,s,x,y,t-wide\nb,m,s,x,y,\n"
    rows = _variants(make_campaign, ok)
    assert rows[0].platforms == ("t-wide",) and rows[1].platforms is None


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"])
def test_control_characters_anywhere_in_the_csv_are_refused_with_their_line(make_campaign, char):
    folder = make_campaign()
    padding = "".join(f"v{i},mug,kitchen,kettle,text\n" for i in range(600))  # past the 8 KiB binary sniff
    (folder / "variants.csv").write_text(f"variant_id,product,scene,sound,avoid\n{padding}late,mu{char}g,k,s,t\n")
    with pytest.raises(VariantsError) as err:
        load_variants(load_campaign(folder))
    assert str(err.value).endswith(f"variants.csv: line 602: control character U+{ord(char):04X} in the text; "
                                   "CSV cells must be plain text")  # fmt: skip
