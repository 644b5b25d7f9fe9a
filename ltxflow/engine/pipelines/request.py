"""What one generation asks for: prompt (or its contexts), sizes, schedule, guidance, seed and decoded conditioning."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from ltxflow.engine.conditioning import AudioCondition, ImageCondition, VideoCondition
from ltxflow.engine.lora import WeightedLora
from ltxflow.engine.pipelines.denoiser import Contexts
from ltxflow.engine.sampling import NO_GUIDANCE, GuidanceParams
from ltxflow.engine.video_vae import TilingConfig
from ltxflow.errors import LtxflowError

PipelineKind = Literal["one-stage", "two-stage", "distilled"]
PIPELINE_KINDS: tuple[str, ...] = ("one-stage", "two-stage", "distilled")
STAGE2_STEPS = 3  # refinement steps at full size (the distilled stage-2 sigma list)


class PipelineError(LtxflowError):
    """A generation request the pipelines cannot run (bad size for the pipeline, missing model part)."""


@dataclass(frozen=True)
class Segment:
    """One generation of an extended clip, in the joined clip's latent frames (L_j: joined latent frame j)."""

    start: int  # first joined latent frame of its grid (the overlap's, after the first segment)
    frames: int  # 8k + 1 pixel frames it generates (overlap included)
    overlap: int  # leading latent frames taken clean from the segments before (0 for the first)
    join: int  # joined pixel frame of its first new frame (0 for the first): 8 * (start + overlap) - 7

    @property
    def latents(self) -> int:
        """Latent frames of its grid."""
        return (self.frames - 1) // 8 + 1


@dataclass(frozen=True)
class Extension:
    """A clip longer than one generation, made by extension (see ltxflow/engine/pipelines/extend.py).

    The first segment is an ordinary generation of `segment_frames`; each next one starts with the last `overlap`
    latent frames of what came before (video tokens, and the audio tokens of the same span) kept clean, and
    generates the rest. The segments join in latent space, the overlap kept once, and decode as one clip.
    """

    segment_frames: int  # 8k + 1 pixel frames one generation makes at most
    overlap: int = 1  # latent frames (8 pixel frames each after the causal first) carried into the next segment

    def __post_init__(self) -> None:
        if self.segment_frames < 1 or (self.segment_frames - 1) % 8:
            raise PipelineError(f"extension segment_frames must be 8k+1, got {self.segment_frames}")
        latents = (self.segment_frames - 1) // 8 + 1
        if not 1 <= self.overlap < latents:
            raise PipelineError(f"extension overlap must be 1..{latents - 1} latent frames for segments of "
                                f"{self.segment_frames} frames, got {self.overlap}")  # fmt: skip

    def segments(self, num_frames: int) -> tuple[Segment, ...]:
        """The segments of a `num_frames` (8k + 1) clip: the first of up to `segment_frames`, then each adding up to
        segment_frames - 1 - 8 (overlap - 1) new frames after its overlap (the last one shorter when that fits)."""
        total = (num_frames - 1) // 8 + 1  # latent frames of the joined clip
        per = (self.segment_frames - 1) // 8 + 1  # latent frames of one generation
        first = min(per, total)
        segments, done = [Segment(0, 8 * (first - 1) + 1, 0, 0)], first
        while done < total:
            new = min(per - self.overlap, total - done)
            start = done - self.overlap
            segments.append(Segment(start, 8 * (self.overlap + new - 1) + 1, self.overlap, 8 * done - 7))
            done += new
        return tuple(segments)


@dataclass(frozen=True)
class GenerationRequest:
    """One clip to generate. Sizes in pixels/frames; the two-stage kinds need width and height % 64 == 0.

    The prompt is text for the model set's text encoder, or `contexts` computed elsewhere (then the texts are not
    encoded). Conditioning arrives decoded: still images as pixels, a source video as frames, reference audio as a
    waveform; the engine encodes them with the checkpoint's VAE encoders.
    """

    prompt: str
    width: int  # pixels, multiple of 32 (64 for two-stage / distilled)
    height: int  # pixels
    num_frames: int  # 8k + 1
    fps: Fraction  # frames per second
    seed: int = 10
    steps: int = 40  # stage-1 steps (one-stage / two-stage); the distilled kind has fixed sigma lists
    pipeline: PipelineKind = "one-stage"
    negative_prompt: str = ""
    contexts: Contexts | None = None  # precomputed text contexts (negative ones too when CFG is on), batch 1
    video_guidance: GuidanceParams = NO_GUIDANCE
    audio_guidance: GuidanceParams = NO_GUIDANCE
    audio: bool = True  # False: silent, video only (the transformer runs without its audio stream)
    batched_passes: bool = True  # all guidance passes of a step in one forward (equal to separate passes)
    tiling: TilingConfig = TilingConfig()  # video VAE decode tiles
    images: tuple[ImageCondition, ...] = ()  # stills pinned at pixel frames (first frame, end frame, ...)
    source_video: VideoCondition | None = None  # frames that pin every video token (audio for a given video)
    reference_audio: AudioCondition | None = None  # a waveform that pins every audio token
    loras: tuple[WeightedLora, ...] = ()  # fused for the (first) stage, in this order
    stage2_loras: tuple[WeightedLora, ...] | None = None  # the refinement's whole set (two-stage: + the distilled
    # LoRA); None = the first stage's
    extension: Extension | None = None  # longer than one generation: segments conditioned on the previous one

    def __post_init__(self) -> None:
        if self.pipeline not in PIPELINE_KINDS:
            raise PipelineError(f"pipeline {self.pipeline!r} is not one of {', '.join(PIPELINE_KINDS)}")
        if not isinstance(self.fps, Fraction) or self.fps <= 0:
            raise PipelineError(f"fps must be a positive Fraction, got {self.fps!r}")
        if self.steps < 1:
            raise PipelineError(f"steps must be >= 1, got {self.steps}")
        if self.pipeline != "one-stage" and (self.width % 64 or self.height % 64):
            raise PipelineError(f"the {self.pipeline} pipeline renders at half size first: width and height must be "
                                f"multiples of 64, got {self.width}x{self.height}")  # fmt: skip
        if not self.audio and self.reference_audio is not None:
            raise PipelineError("audio conditioning was given for a silent (video-only) request")
        if any(not 0 <= image.frame < self.num_frames for image in self.images):
            raise PipelineError(f"image conditioning frames must lie in 0..{self.num_frames - 1}, got "
                                f"{[image.frame for image in self.images]}")
        if self.extended:
            if self.pipeline != "one-stage":
                raise PipelineError(f"extension runs the one-stage pipeline only, got {self.pipeline!r}")
            if self.source_video is not None or self.reference_audio is not None:
                raise PipelineError("extension cannot follow a source video or reference audio (each pins every "
                                    "token of one generation)")  # fmt: skip

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The generations that make the clip (one unless extended)."""
        if not self.extended:
            return (Segment(0, self.num_frames, 0, 0),)
        assert self.extension is not None
        return self.extension.segments(self.num_frames)

    @property
    def extended(self) -> bool:
        """Whether the clip is longer than one generation (made by extension)."""
        return self.extension is not None and self.num_frames > self.extension.segment_frames

    @property
    def total_steps(self) -> int:
        """Denoising steps over all stages (for progress bars)."""
        if self.pipeline == "one-stage":
            return self.steps * len(self.segments)
        stage1 = 8 if self.pipeline == "distilled" else self.steps
        return stage1 + STAGE2_STEPS

    @property
    def needs_video_encoder(self) -> bool:
        """Whether conditioning on pixels needs the checkpoint's video VAE encoder."""
        return bool(self.images) or self.source_video is not None
