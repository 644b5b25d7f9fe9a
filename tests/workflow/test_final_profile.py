"""The [final] profile: what promote renders finals with, checked when the campaign loads."""

from __future__ import annotations

import pytest

from ltxflow.campaign import load_campaign
from ltxflow.errors import CampaignError
from ltxflow.plan import plan_campaign

FINAL = """
[final]
steps = 6
width = 128
seconds_per_task = 300
"""


def test_final_is_generation_with_the_profile_over_it(make_campaign, toml, fake_presets):
    campaign = load_campaign(make_campaign(toml(extra=FINAL)))
    final = campaign.final_campaign()
    assert (final.generation.steps, final.generation.width, final.generation.height) == (6, 128, 64)
    assert (campaign.generation.steps, campaign.generation.width) == (2, 64)  # the drafts' settings are untouched
    assert (final.estimate.seconds_per_task, campaign.estimate.seconds_per_task) == (300, 60)
    assert final.path == campaign.path and final.name == campaign.name
    drafts, finals = plan_campaign(campaign).tasks, plan_campaign(final).tasks
    assert [(t.variant_id, t.seed, t.prompt) for t in finals] == [(t.variant_id, t.seed, t.prompt) for t in drafts]
    assert not {t.id for t in finals} & {t.id for t in drafts}  # new tasks: their own ids, so their own files


def test_a_campaign_without_final_cannot_promote(make_campaign):
    campaign = load_campaign(make_campaign())
    assert campaign.final is None
    with pytest.raises(CampaignError, match=r"campaign.toml: final: no \[final\] profile"):
        campaign.final_campaign()


@pytest.mark.parametrize(
    ("final", "message"),
    [
        ("", "final: sets no [generation] key: give at least one of checkpoint, width, height, frames"),
        ("steps = 2", "final: repeats [generation]: the finals would be the drafts again"),
        ("width = 100", "final.width: 100 is not a multiple of 32; nearest valid: 96"),
        ("frames = 10", "final.frames: 10 is not 8k+1"),
        ("pipeline = 'two-stage'\nheight = 96", "final.height: 96 is not a multiple of 64 for the two-stage pipeline"),
        ("device = 'cuda'", "unknown key 'final.device'"),
        ("steps = 8\nseconds_per_task = 0", "final.seconds_per_task: must be > 0"),
    ],
)
def test_a_profile_the_engine_cannot_render_fails_at_load(make_campaign, toml, final, message):
    folder = make_campaign(toml(extra=f"[final]\n{final}\n"))
    with pytest.raises(CampaignError) as err:
        load_campaign(folder)
    assert str(err.value).startswith(f"{folder.absolute() / 'campaign.toml'}: ") and "\n" not in str(err.value)
    assert message in str(err.value)


def test_a_kept_generation_value_the_final_pipeline_refuses_names_both(make_campaign, toml):
    folder = make_campaign(toml(extra="[final]\npipeline = 'two-stage'\n").replace("height = 64", "height = 96"))
    with pytest.raises(CampaignError, match=r"final: generation.height \(kept\): 96 is not a multiple of 64 .*"
                                            r"set final.height"):  # fmt: skip
        load_campaign(folder)
