"""Hostile campaign files (issue 23): over-long paths in every path field and file column, campaign paths outside
the project root, and brand audio that claims hours. Each is a one-line error naming file, key or row before the
file system is touched, or (the audio) is read only as far as the clip needs."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ltxflow.campaign import load_campaign
from ltxflow.cli import cli
from ltxflow.errors import CampaignError, VariantsError
from ltxflow.path_rules import ALLOW_ENV
from ltxflow.soundtrack import RATE, _write_wav, read_brand
from ltxflow.tasks import BrandFit
from ltxflow.variants import load_variants

LONG_NAME = "n" * 300 + ".png"  # one component over NAME_MAX (255 bytes)
LONG_PATH = "d/" * 2100 + "x.png"  # every component short, the whole over PATH_MAX (4096 bytes)


def _validate(folder: Path):
    return CliRunner().invoke(cli, ["validate", str(folder)], catch_exceptions=False)


@pytest.fixture
def project(tmp_path):
    """A project root (pyproject.toml marks it) holding the campaign folder."""
    (tmp_path / "pyproject.toml").write_text("")
    return tmp_path


FIELDS = {  # top-level or [table] line of campaign.toml -> the dotted key the error must name
    'template = "{v}"': "template",
    'variants = "{v}"': "variants",
    '[conditioning]\nimage = "{v}"': "conditioning.image",
    '[audio]\nbrand_audio = "{v}"': "audio.brand_audio",
    '[generation]\nengine = "fake"\ncheckpoint = "{v}.safetensors"': "generation.checkpoint",
    '[generation]\nengine = "fake"\ntext_encoder = "{v}"': "generation.text_encoder",
    '[[lora]]\npath = "{v}"': "lora",
    '[brand]\nname = "Acme"\nlogo = "{v}"': "brand.logo",
    '[brand]\nkit = "{v}"': "brand.kit",
}


@pytest.mark.parametrize("value", [LONG_NAME, LONG_PATH], ids=["NAME_MAX", "PATH_MAX"])
@pytest.mark.parametrize("line", FIELDS)
def test_an_over_long_path_in_any_field_is_one_line_naming_the_key(project, make_campaign, value, line):
    """Catches: 'OSError: File name too long' raised as a traceback by is_file/stat in a validator (or later, at
    plan time) for a path field holding a name over 255 bytes or a path over 4096."""
    folder = make_campaign(_with(line.format(v=value)))
    with pytest.raises(CampaignError) as caught:
        load_campaign(folder)
    message = str(caught.value)
    assert "\n" not in message and FIELDS[line] in message and "-byte limit" in message, message
    done = _validate(folder)
    assert done.exit_code == 2 and done.output.startswith("Error: ") and "Traceback" not in done.output


def _with(line: str) -> str:
    """campaign.toml with `line` (a key, or a table) replacing or adding to the conftest campaign."""
    from .conftest import campaign_toml

    key = line.split(" = ")[0]
    base = campaign_toml()
    if key in ("template", "variants"):
        return "\n".join(line if row.startswith(f"{key} =") else row for row in base.splitlines())
    if line.startswith("[brand]"):  # the brand kit table names the brand
        base = base.replace('brand = "Acme"\n', "")
    if line.startswith("[generation]"):
        return base.replace('[generation]\nengine = "fake"', line)
    return base.replace("\n[generation]", f"\n{line}\n\n[generation]", 1) if line.startswith("[[") or \
        line.startswith("[brand]") or line.startswith("[audio]") or line.startswith("[conditioning]") else base  # fmt: skip


@pytest.mark.parametrize("column", ["image", "brand_audio", "lora"])
def test_an_over_long_path_in_a_file_column_is_one_line_naming_row_and_column(project, make_campaign, toml, column):
    """Catches: an over-long CSV cell in a file column becoming an OSError traceback when its file is hashed."""
    csv = f"variant_id,product,scene,sound,avoid,{column}\nalpha,mug,kitchen,kettle,text,{LONG_NAME}\n"
    folder = make_campaign(toml(), csv=csv)
    with pytest.raises(VariantsError, match=rf"row 2: {column}: file name 'n+'\.\.\. is 304 bytes"):
        load_variants(load_campaign(folder))
    assert _validate(folder).exit_code == 2


def test_a_template_naming_a_system_file_is_refused(project, make_campaign, toml):
    """Catches: `template = "/proc/self/environ"` making the process environment the prompt (shown by plan,
    stored in the ledger): campaign paths were not confined to the campaign's project."""
    folder = make_campaign(toml().replace('template = "prompt.j2"', 'template = "/proc/self/environ"'))
    with pytest.raises(CampaignError, match=r"template: /proc/self/environ is outside the campaign's project root"):
        load_campaign(folder)
    done = _validate(folder)
    assert done.exit_code == 2 and "environ" in done.output and "PATH=" not in done.output


def test_paths_escaping_the_project_by_dots_or_symlinks_are_refused_unless_allowed(project, make_campaign, toml,
                                                                                   tmp_path_factory, monkeypatch):  # fmt: skip
    """Catches: a variants CSV reached by '../..' or through a symlink to a file outside the project, and an image
    column escaping the same way; and an --allow-path that does not let an operator name an outside folder."""
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "photo.png").write_bytes(b"\x89PNG")
    (outside / "rows.csv").write_text("variant_id,product,scene,sound,avoid\nalpha,a,b,c,d\n")
    folder = make_campaign(toml())
    (folder / "linked.csv").symlink_to(outside / "rows.csv")
    for variants in (os.path.relpath(outside / "rows.csv", folder), "linked.csv"):
        text = toml().replace('variants = "variants.csv"', f'variants = "{variants}"')
        (folder / "campaign.toml").write_text(text)
        with pytest.raises(CampaignError, match="variants: .* is outside the campaign's project root"):
            load_campaign(folder)
    (folder / "campaign.toml").write_text(toml())
    (folder / "variants.csv").write_text(f"variant_id,product,scene,sound,avoid,image\nalpha,a,b,c,d,{outside}/photo.png\n")
    with pytest.raises(VariantsError, match="row 2: image: .* is outside the campaign's project root"):
        load_variants(load_campaign(folder))
    monkeypatch.setenv(ALLOW_ENV, "")
    done = CliRunner().invoke(cli, ["--allow-path", str(outside), "plan", str(folder), "--format", "json"],
                              catch_exceptions=False)  # fmt: skip
    assert "outside" not in done.output  # the operator allowed that folder: the row plans
    assert os.environ[ALLOW_ENV] == str(outside)


def test_the_documented_layout_reaches_templates_beside_campaigns_without_a_marker(tmp_path, make_campaign, toml):
    """Catches: confinement refusing the shipped layout (campaigns/<name>/ naming ../../templates/) outside a
    checkout, which has no pyproject.toml or .git."""
    folder = tmp_path / "campaigns" / "spring"
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.j2").write_text("{{ product }} {{ scene }} {{ sound }} {{ avoid }}")
    made = make_campaign(toml().replace('template = "prompt.j2"', 'template = "../../templates/t.j2"'))
    folder.parent.mkdir()
    made.rename(folder)
    assert load_campaign(folder).template.resolve() == (tmp_path / "templates" / "t.j2").resolve()


def test_brand_audio_claiming_minutes_is_read_only_as_far_as_the_clip_needs(tmp_path):
    """Catches: a brand-audio file decoded and resampled whole before it is trimmed to the clip (three minutes of
    8 kHz mono become 69 MB of 48 kHz stereo float32; hours exhaust memory)."""
    long = tmp_path / "long.wav"
    rate = 8000  # Hz of the file
    wave = (0.1 * np.sin(2 * np.pi * 330 * np.arange(180 * rate) / rate)).astype(np.float32)  # (S,) 180 s
    import av

    with av.open(str(long), "w", format="wav") as out:  # 16-bit mono: 2.9 MB on disk
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((wave * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    samples = RATE  # a 1 s clip
    tracemalloc.start()
    try:
        brand = read_brand(long, samples, BrandFit(), "v")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert brand.shape == (2, samples + 1)
    assert peak < 8e6, f"{peak / 1e6:.1f} MB decoded for a 1 s clip"  # whole file: > 69 MB; 1 s: ~0.4 MB + a frame
    with pytest.raises(Exception, match=r"over 8x the clip's 1\.00 s"):
        read_brand(long, samples, BrandFit(fit="stretch-to-clip"), "v")
    short = tmp_path / "short.wav"
    _write_wav(np.zeros((2, RATE // 2), np.float32), short)
    assert read_brand(short, samples, BrandFit(), "v").shape == (2, RATE // 2)  # a short file: all of it
