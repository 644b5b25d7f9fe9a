"""Text encoders: prompts -> (video_context, audio_context) for the DiT, with a per-prompt cache.

Three sources of hidden states share one path into the DiT (feature extractor + connectors, `TextEmbeddings`):
Gemma-3 through `transformers` (real checkpoints), the tiny byte encoder of the embedded checkpoint, or contexts
precomputed elsewhere and stored in a safetensors file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor

from ltxflow.engine.text.embeddings import TextEmbeddings
from ltxflow.engine.text.tiny_encoder import TinyTextModel, byte_tokens
from ltxflow.errors import LtxflowError

GEMMA_MAX_LENGTH = 1024  # tokens per prompt, left padded, as the reference
PROMPTS_KEY = "prompts"  # precomputed-file metadata: JSON {prompt: tensor name stem}


class TextEncoderError(LtxflowError):
    """A text encoder that cannot be built, or a prompt it cannot encode."""


class TextEncoder(Protocol):
    """Turns prompts into the DiT's text contexts."""

    def encode(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Prompts -> video context (B, L, Dv) and audio context (B, L, Da)."""
        ...


# ---------------------------------------------------------------------------------------------------------------------
# Hidden-state encoders (their states go through TextEmbeddings)
# ---------------------------------------------------------------------------------------------------------------------


class TinyTextEncoder:
    """The embedded checkpoint's byte-level encoder followed by its feature extractor and connectors."""

    def __init__(self, model: TinyTextModel, embeddings: TextEmbeddings) -> None:
        self.model, self.embeddings = model, embeddings

    @torch.inference_mode()
    def encode(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Prompts -> (B, L, Dv), (B, L, Da) contexts on the encoder's device."""
        device = next(self.model.parameters()).device
        ids, mask = byte_tokens(list(prompts), self.model.config.max_length)  # (B, L) each
        ids, mask = ids.to(device), mask.to(device)
        states = self.model(ids, mask)  # layers + 1 x (B, L, D)
        return self.embeddings(states, mask)


class GemmaTextEncoder:
    """Gemma-3 (a local Hugging Face folder) -> all hidden states -> feature extractor + connectors.

    Needs the optional `transformers` package (`pip install ltxflow[gemma]`); nothing is downloaded.
    """

    def __init__(self, model_dir: str | Path, embeddings: TextEmbeddings, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.bfloat16, max_length: int = GEMMA_MAX_LENGTH) -> None:  # fmt: skip
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise TextEncoderError(
                "the Gemma text encoder needs the 'transformers' package: pip install 'ltxflow[gemma]'"
            ) from None
        folder = Path(model_dir)
        if not (folder / "config.json").is_file():
            raise TextEncoderError(f"{folder}: not a Gemma model folder (no config.json)")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, model_max_length=max_length)
            model = AutoModel.from_pretrained(folder, local_files_only=True, dtype=dtype)
        except (OSError, ValueError) as err:
            raise TextEncoderError(f"{folder}: cannot load the Gemma model or tokenizer: {err}") from None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = model.to(device).eval()
        self.embeddings = embeddings
        self.max_length = max_length
        self.device = torch.device(device)

    def tokenize(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Stripped prompts -> ids and mask (B, max_length), left padded, truncated."""
        batch = self.tokenizer([p.strip() for p in prompts], padding="max_length", max_length=self.max_length,
                               truncation=True, return_tensors="pt")  # fmt: skip
        return batch.input_ids.to(self.device), batch.attention_mask.to(self.device)

    @torch.inference_mode()
    def hidden_states(self, prompts: Sequence[str]) -> tuple[tuple[Tensor, ...], Tensor]:
        """All hidden states (embeddings + every layer) of the language model, and the mask."""
        ids, mask = self.tokenize(prompts)
        out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        return tuple(out.hidden_states), mask

    @torch.inference_mode()
    def encode(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Prompts -> (B, L, Dv), (B, L, Da) contexts."""
        states, mask = self.hidden_states(prompts)
        param = next(self.embeddings.parameters())
        states = tuple(s.to(device=param.device, dtype=param.dtype) for s in states)
        return self.embeddings(states, mask.to(param.device))


# ---------------------------------------------------------------------------------------------------------------------
# Precomputed contexts
# ---------------------------------------------------------------------------------------------------------------------


def save_precomputed(path: str | Path, contexts: dict[str, tuple[Tensor, Tensor]]) -> None:
    """Write {prompt: (video (L, Dv), audio (L, Da))} to a safetensors file (temp file + rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    names = {prompt: f"p{i}" for i, prompt in enumerate(sorted(contexts))}
    tensors: dict[str, Tensor] = {}
    for prompt, (video, audio) in contexts.items():
        tensors[f"{names[prompt]}.video"] = video.detach().cpu().contiguous()
        tensors[f"{names[prompt]}.audio"] = audio.detach().cpu().contiguous()
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save_file(tensors, str(tmp), metadata={PROMPTS_KEY: json.dumps(names, ensure_ascii=False, sort_keys=True)})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class PrecomputedTextEncoder:
    """Contexts read from a safetensors file of prompt embeddings (see `save_precomputed`)."""

    def __init__(self, path: str | Path, device: torch.device | str = "cpu", dtype: torch.dtype | None = None) -> None:
        from safetensors import SafetensorError, safe_open

        self.path = Path(path)
        try:
            with safe_open(str(self.path), framework="pt", device="cpu") as f:
                names = json.loads((f.metadata() or {}).get(PROMPTS_KEY, "null"))
                tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
        except (OSError, SafetensorError, json.JSONDecodeError) as err:
            raise TextEncoderError(f"{self.path}: not a readable prompt-embeddings file: {err}") from None
        if not isinstance(names, dict):
            raise TextEncoderError(f"{self.path}: no {PROMPTS_KEY!r} metadata naming the prompts it holds")
        self.contexts: dict[str, tuple[Tensor, Tensor]] = {}
        for prompt, name in names.items():
            if f"{name}.video" not in tensors or f"{name}.audio" not in tensors:
                raise TextEncoderError(f"{self.path}: prompt {prompt!r} lacks tensor {name}.video or {name}.audio")
            video, audio = tensors[f"{name}.video"], tensors[f"{name}.audio"]
            self.contexts[prompt] = (video.to(device=device, dtype=dtype), audio.to(device=device, dtype=dtype))

    def encode(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Look the prompts up; a prompt that is not in the file is an error naming it."""
        missing = [p for p in prompts if p not in self.contexts]
        if missing:
            raise TextEncoderError(f"{self.path}: no precomputed embeddings for prompt {missing[0]!r}")
        video = torch.stack([self.contexts[p][0] for p in prompts])  # (B, L, Dv)
        audio = torch.stack([self.contexts[p][1] for p in prompts])  # (B, L, Da)
        return video, audio


# ---------------------------------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------------------------------


class CachedTextEncoder:
    """Encodes each distinct prompt once; later requests for it reuse the stored contexts."""

    def __init__(self, encoder: TextEncoder, max_prompts: int = 256) -> None:
        self.encoder = encoder
        self.max_prompts = max_prompts
        self.cache: dict[str, tuple[Tensor, Tensor]] = {}
        self.encoded = 0  # prompts actually sent to the encoder

    def encode(self, prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Prompts -> (B, L, Dv), (B, L, Da); only prompts not seen before reach the wrapped encoder."""
        wanted = set(prompts)
        if len(wanted) > self.max_prompts:  # more distinct prompts than the cache holds: no caching
            self.encoded += len(prompts)
            return self.encoder.encode(prompts)
        new = list(dict.fromkeys(p for p in prompts if p not in self.cache))
        if new:
            video, audio = self.encoder.encode(new)  # (N, L, Dv), (N, L, Da)
            self.encoded += len(new)
            surplus = max(0, len(self.cache) + len(new) - self.max_prompts)
            for old in [p for p in self.cache if p not in wanted][:surplus]:
                del self.cache[old]  # oldest first, never one this call needs
            for i, prompt in enumerate(new):
                self.cache[prompt] = (video[i], audio[i])
        video = torch.stack([self.cache[p][0] for p in prompts])  # (B, L, Dv)
        audio = torch.stack([self.cache[p][1] for p in prompts])  # (B, L, Da)
        return video, audio
