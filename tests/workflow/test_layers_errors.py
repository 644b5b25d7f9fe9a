"""Bad layer input: `validate` prints one line naming the campaign, the layer (and the row where one is to blame),
exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from ltxflow.cli import cli

PRESETS = 'platforms = ["reels", "meta-feed-4x5"]'
HEADLINE = """
[[layer]]
name = "headline"
type = "text"
text = "{{ headline }}"
end = 0.3
"""
CSV = """variant_id,product,scene,sound,avoid,headline
alpha,red mug,a sunny kitchen,a kettle whistle,watermark,Hot coffee now
beta,blue mug,a rainy window,rain on glass,text,Rainy day cup
"""


def _validate(folder):
    return CliRunner().invoke(cli, ["validate", str(folder)], catch_exceptions=False)


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture
def campaign(make_campaign, toml):
    """make(extra toml, csv) -> a campaign folder with a 9-frame (0.375 s) clip for Reels and Meta 4:5."""
    def make(extra: str, csv: str = CSV):
        text = toml(platforms='["reels", "meta-feed-4x5"]', extra="allow_spec_failures = true  # 0.38 s clips\n" + extra)
        if "[brand]" in extra:  # the brand kit's name replaces the plain brand name
            text = text.replace('brand = "Acme"\n', "")
        return make_campaign(text, csv=csv)
    return make


def test_a_valid_layered_campaign_validates(campaign):
    result = _validate(campaign(HEADLINE))
    assert result.exit_code == 0 and ": spring: 2 variants" in result.output, result.output


def test_a_layer_naming_a_missing_column(campaign):
    line = _one_line_error(_validate(campaign(HEADLINE.replace("{{ headline }}", "{{ price }}"))))
    assert "campaign.toml: campaign 'spring': layer 'headline': variants.csv row 2 (variant_id=alpha): " in line
    assert line.endswith("undefined variable 'price' (not a column of the row)")


def test_an_unreadable_font(campaign):
    folder = campaign("[brand]\nname = \"Acme\"\nfonts = { bold = \"fonts/Bold.ttf\" }\n" + HEADLINE)
    (folder / "fonts").mkdir()
    (folder / "fonts" / "Bold.ttf").write_bytes(b"not a font")
    line = _one_line_error(_validate(folder))
    assert "campaign.toml: brand.fonts: bold: cannot read font" in line and "Bold.ttf" in line


def test_a_layer_font_that_is_not_a_brand_font(campaign):
    line = _one_line_error(_validate(campaign(HEADLINE + 'font = "headline-bold"\n')))
    assert line.endswith("layer 'headline': font: 'headline-bold' is not a brand font (known: none), 'default' or a .ttf/.otf file")


def test_a_layer_font_file_is_checked_like_the_brand_kits(campaign, tmp_path):
    """Catches a layer's own font file read unchecked at layout time: one outside the project root (a campaign
    naming a file of the system or of another project) or one that is not a font must fail `validate` in one line
    naming the layer, as a brand kit's font does, not load at plan time or end in a traceback."""
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere" / "Face.ttf"
    outside.parent.mkdir()
    outside.write_bytes((Path(__file__).parents[2] / "campaigns/cold-brew-launch/assets/DejaVuSans-Bold.ttf").read_bytes())
    line = _one_line_error(_validate(campaign(HEADLINE + f'font = "{outside}"\n')))
    assert "layer 'headline': font: " in line and "outside the campaign's project root" in line
    folder = campaign(HEADLINE + 'font = "Broken.ttf"\n')
    (folder / "Broken.ttf").write_bytes(b"not a font")
    line = _one_line_error(_validate(folder))
    assert "layer 'headline': font: cannot read font" in line and "Broken.ttf" in line


def test_a_logo_that_is_not_an_image(campaign):
    folder = campaign('[brand]\nname = "Acme"\nlogo = "logo.png"\n[[layer]]\nname = "logo"\ntype = "logo"\n')
    (folder / "logo.png").write_text("<svg/>")
    line = _one_line_error(_validate(folder))
    assert "campaign.toml: brand.logo: not a readable image:" in line and "logo.png" in line


def test_a_time_window_past_the_clip_end(campaign):
    line = _one_line_error(_validate(campaign(HEADLINE.replace("end = 0.3", "end = 2.5"))))
    assert "campaign 'spring': layer 'headline': variants.csv row 2 (variant_id=alpha): " in line
    assert line.endswith("time window 0-2.5 s ends past the clip's end (0.38 s)")


def test_text_that_cannot_fit_even_at_the_minimum_size(campaign):
    long = "word " * 60
    line = _one_line_error(_validate(campaign(HEADLINE, csv=CSV.replace("Rainy day cup", long.strip()))))
    assert "layer 'headline': variants.csv row 3 (variant_id=beta): text 'word word" in line
    assert "does not fit" in line and "even at the minimum size" in line


def test_long_text_is_wrapped_then_shrunk_before_it_is_refused(make_campaign, toml):
    from ltxflow.plan import plan_campaign

    words = "Slow steeped for twenty hours smooth never bitter"
    csv = CSV.replace("Hot coffee now", "Cold").replace("Rainy day cup", words)
    folder = make_campaign(toml(platforms='["reels"]', extra=HEADLINE), csv=csv)
    plan = plan_campaign(folder)
    short, long = (plan.layers[t.id]["reels"].placed[0].text for t in plan.tasks)
    assert len(short.lines) == 1 and len(long.lines) > 1  # wrapped
    assert long.size < short.size  # and shrunk: the full-size wrap needed more lines than fit the box
    assert " ".join(long.lines) == words


def test_unknown_keys_and_bad_values_name_the_key(campaign):
    line = _one_line_error(_validate(campaign(HEADLINE + "colour = \"#fff\"\n")))
    assert line.endswith("campaign.toml: unknown key \"layer 'headline'.colour\"")
    line = _one_line_error(_validate(campaign(HEADLINE.replace('type = "text"', 'type = "video"'))))
    assert line.endswith("layer 'headline'.type: 'video' is not one of 'text', 'logo'")


def test_a_logo_layer_without_a_logo(campaign, tmp_path):
    Image.new("RGBA", (8, 8)).save(tmp_path / "ok.png")
    line = _one_line_error(_validate(campaign('[[layer]]\nname = "mark"\ntype = "logo"\n')))
    assert line.endswith("layer 'mark': no file and the brand kit has no logo")
