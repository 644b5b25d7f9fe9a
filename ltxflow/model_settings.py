"""What the engine loads and how it runs, beyond the checkpoint: the campaign's [generation] keys, overridden by
environment variables, and the identities of those settings that change the output (they enter task ids).

Changes the output, so in the task id: `precision` (fp8), the text encoder's weights (Gemma folder) or the
prompt-embeddings file, and the upsampler of a two-stage pipeline. Changes only speed or memory, so not in the id:
`offload` and `reference_path` (the exact speed paths). With the built-in tiny checkpoint the text encoder and
upsampler are its own, so the Gemma, embeddings and upsampler settings do not apply to it (nor to its ids).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ltxflow.campaign import Campaign
from ltxflow.errors import CampaignError
from ltxflow.tasks import file_sha256

DIT_ENV = "LTXFLOW_DIT"  # comma list of fp8, offload, plain
GEMMA_ENV = "LTXFLOW_GEMMA_DIR"
EMBEDDINGS_ENV = "LTXFLOW_PROMPT_EMBEDDINGS"
UPSAMPLER_ENV = "LTXFLOW_UPSAMPLER"
TINY = "tiny"
MISSING = "missing"  # identity of a configured file or folder that cannot be read (the engine will refuse it)


@dataclass(frozen=True)
class ModelSettings:
    """The resolved settings, and how the environment changed the campaign's."""

    precision: str  # "exact" | "fp8"
    offload: bool
    reference_path: bool
    text_encoder: Path | None  # Gemma-3 folder
    prompt_embeddings: Path | None  # precomputed prompt contexts
    upsampler: Path | None
    overrides: tuple[str, ...] = ()  # one line per environment variable that changed a campaign setting


def resolve(campaign: Campaign, env: Mapping[str, str] | None = None) -> ModelSettings:
    """The campaign's [generation] model settings with $LTXFLOW_DIT, _GEMMA_DIR, _PROMPT_EMBEDDINGS and
    _UPSAMPLER applied as overrides (each override named in `overrides`)."""
    env = os.environ if env is None else env
    gen = campaign.generation
    precision, offload, reference = gen.precision, gen.offload, gen.reference_path
    overrides = []
    if env.get(DIT_ENV, "").strip():
        words = {w.strip() for w in env[DIT_ENV].split(",") if w.strip()}
        unknown = words - {"fp8", "offload", "plain"}
        if unknown:
            raise CampaignError(f"${DIT_ENV}: unknown setting(s) {', '.join(sorted(unknown))}; use fp8, offload or plain")
        if "plain" in words and len(words) > 1:
            raise CampaignError(f"${DIT_ENV}: \"plain\" cannot be combined with {', '.join(sorted(words - {'plain'}))}")
        precision, offload, reference = ("fp8" if "fp8" in words else "exact"), "offload" in words, "plain" in words
        changed = [f"{k} = {v}" for k, v, was in (("precision", f'"{precision}"', gen.precision != precision),
                   ("offload", str(offload).lower(), gen.offload != offload),
                   ("reference_path", str(reference).lower(), gen.reference_path != reference)) if was]  # fmt: skip
        if changed:
            overrides.append(f"${DIT_ENV}={env[DIT_ENV]} sets generation.{', generation.'.join(changed)}")
    paths = {}
    for key, name, configured in (("text_encoder", GEMMA_ENV, gen.text_encoder),
                                  ("prompt_embeddings", EMBEDDINGS_ENV, gen.prompt_embeddings),
                                  ("upsampler", UPSAMPLER_ENV, gen.upsampler)):  # fmt: skip
        paths[key] = configured
        if env.get(name):
            paths[key] = Path(env[name]).expanduser().absolute()
            if paths[key] != configured:
                unused = " (not used by checkpoint \"tiny\")" if gen.checkpoint == TINY else ""
                overrides.append(f"${name} sets generation.{key} = \"{paths[key]}\"{unused}")
    return ModelSettings(precision, offload, reference, paths["text_encoder"], paths["prompt_embeddings"],
                         paths["upsampler"], tuple(overrides))  # fmt: skip


@dataclass(frozen=True)
class Identities:
    """What of the model settings enters task ids ("" = built in or not used)."""

    text_encoder: str  # "gemma:<folder>:<bytes of its weights>" or "embeddings:<sha256>"
    upsampler: str  # "<file name>:<bytes>", only for two-stage pipelines


def identities(campaign: Campaign, settings: ModelSettings) -> Identities:
    """Identities of the text encoder and upsampler the campaign's tasks will use."""
    gen = campaign.generation
    if gen.checkpoint == TINY:
        return Identities("", "")  # the tiny checkpoint carries its own text encoder and upsampler
    text = ""
    if settings.prompt_embeddings is not None:  # the engine prefers precomputed contexts when both are given
        try:
            text = f"embeddings:{file_sha256(settings.prompt_embeddings)}"
        except OSError:
            text = f"embeddings:{MISSING}"
    elif settings.text_encoder is not None:
        text = f"gemma:{settings.text_encoder.name}:{_weights_bytes(settings.text_encoder)}"
    upsampler = ""
    if gen.pipeline == "two-stage" and settings.upsampler is not None:
        try:
            upsampler = f"{settings.upsampler.name}:{settings.upsampler.stat().st_size}"
        except OSError:
            upsampler = f"{settings.upsampler.name}:{MISSING}"
    return Identities(text, upsampler)


def _weights_bytes(folder: Path) -> str:
    """Total bytes of a model folder's weight files (moving the folder keeps the identity), or MISSING."""
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf"))
        return str(sum(p.stat().st_size for p in files)) if files else MISSING
    except OSError:
        return MISSING


@contextmanager
def engine_environment(settings: ModelSettings) -> Iterator[None]:
    """The resolved settings as the environment variables the `ltx2` engine reads while it loads.

    A bridge: the ltx2 plugin reads these from os.environ in its constructor; once it reads EngineSettings
    (which carry the same values) this goes away. Restores the environment afterwards.
    """
    words = [w for w, on in (("fp8", settings.precision == "fp8"), ("offload", settings.offload),
                             ("plain", settings.reference_path)) if on]  # fmt: skip
    wanted = {DIT_ENV: ",".join(words) or None,
              GEMMA_ENV: str(settings.text_encoder) if settings.text_encoder else None,
              EMBEDDINGS_ENV: str(settings.prompt_embeddings) if settings.prompt_embeddings else None,
              UPSAMPLER_ENV: str(settings.upsampler) if settings.upsampler else None}  # fmt: skip
    saved = {name: os.environ.get(name) for name in wanted}
    try:
        for name, value in wanted.items():
            _set(name, value)
        yield
    finally:
        for name, value in saved.items():
            _set(name, value)


def _set(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
