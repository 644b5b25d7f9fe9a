"""The engine used as a library, as a notebook would: its public surface, a generation with no workflow module
loaded, precomputed prompt contexts, and a model set whose close() releases its acceleration."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
import torch

import ltxflow.engine as engine
from ltxflow.engine import Contexts, GenerationRequest, PipelineError, SpeedOptions, accelerate, generate_latents
from ltxflow.engine import encode_prompts, load_models
from ltxflow.engine.pipelines import ModelSet
from ltxflow.engine.tiny import tiny_paths

DOC = Path(__file__).resolve().parents[3] / "docs" / "engine.md"
WORKFLOW = ("ltxflow.tasks", "ltxflow.campaign", "ltxflow.plan", "ltxflow.media", "ltxflow.export",
            "ltxflow.ledger", "ltxflow.plugins", "ltxflow.runner", "ltxflow.variants", "ltxflow.prompts",
            "ltxflow.default_plugins", "ltxflow.engines")


def test_every_public_name_resolves_and_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    assert len(engine.__all__) == len(set(engine.__all__)) > 30
    missing = [name for name in engine.__all__ if not hasattr(engine, name)]
    undocumented = [name for name in engine.__all__ if not re.search(rf"`{re.escape(name)}\b", doc)]
    assert missing == [] and undocumented == []


def test_a_notebook_generates_a_conditioned_clip_without_the_workflow(tiny_cache):
    code = f"""
import sys
from fractions import Fraction
from pathlib import Path
import torch
from ltxflow.engine import GenerationRequest, ImageCondition, generate, load_models
from ltxflow.engine.tiny import tiny_paths
checkpoint, upsampler = tiny_paths(Path({str(tiny_cache)!r}))
models = load_models(checkpoint, torch.device("cpu"), torch.float32, upsampler=upsampler)
still = torch.full((40, 70, 3), 200.0)  # decoded pixels, no file
clip = generate(models, GenerationRequest("a lamp", 64, 64, 9, Fraction(24), steps=2,
                                          images=(ImageCondition(still),)))
assert clip.frames.shape == (9, 64, 64, 3) and clip.audio is not None and clip.fps == Fraction(24)
models.close()
print(sorted(m for m in sys.modules if m.startswith({WORKFLOW!r})))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # no workflow module was imported, not even lazily


def test_precomputed_contexts_stand_in_for_the_prompt(models):
    guided = replace(engine.NO_GUIDANCE, cfg=3.0)
    request = GenerationRequest("lamp", 64, 64, 9, Fraction(24), steps=2, negative_prompt="dark",
                                video_guidance=guided)
    from_text = encode_prompts(models, request)
    given = Contexts(from_text.video + 1.0, from_text.audio, from_text.negative_video, from_text.negative_audio)
    with_contexts = replace(request, prompt="", negative_prompt="", contexts=given)
    assert torch.equal(encode_prompts(models, with_contexts).video, given.video)  # used as given, text unread
    a, b = generate_latents(models, replace(request, contexts=from_text)), generate_latents(models, request)
    assert torch.equal(a.video.latent, b.video.latent)  # the same contexts sample the same clip
    assert not torch.equal(generate_latents(models, with_contexts).video.latent, b.video.latent)
    with pytest.raises(PipelineError, match="needs negative-prompt contexts"):
        encode_prompts(models, replace(with_contexts, contexts=Contexts(given.video, given.audio)))


def test_closing_a_model_set_removes_its_offload_hooks_and_caches(models):
    transformer = load_models(tiny_paths(models.checkpoint.path.parent)[0], torch.device("cpu"),
                              torch.float32).transformer
    acc = accelerate(transformer, SpeedOptions(offload_blocks=True), device="cpu")
    acc.verdicts[("a layout",)] = True
    blocks = transformer.transformer_blocks
    hooks = lambda: sum(len(b._forward_pre_hooks) + len(b._forward_hooks) for b in blocks)  # noqa: E731
    assert hooks() == 2 * len(transformer.transformer_blocks)
    ModelSet(transformer, None, None, None, None, None, torch.device("cpu"), torch.float32, "2.0",
             acceleration=acc).close()
    assert hooks() == 0 and acc.verdicts == {}
