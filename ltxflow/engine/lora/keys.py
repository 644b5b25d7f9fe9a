"""LoRA file keys -> the transformer module each adapts, through the checkpoint routing table.

A LoRA key is `<prefix><module><suffix>`:
  prefix  "diffusion_model." (official files, ComfyUI's LoRA layout), "model.diffusion_model." (ComfyUI's
          checkpoint prefix), "transformer." (diffusers / PEFT) or none (a bare module name);
  suffix  ".lora_A.weight" / ".lora_B.weight" (official, PEFT), ".lora_down.weight" / ".lora_up.weight" (kohya),
          ".alpha" (kohya's scale, accepted only where it is a no-op: see file.py).
The module part may use ltx-core's names or diffusers' (proj_in, time_embed, ...): `<module>.weight` goes through the
same rules that route checkpoint keys (checkpoint/keys.py), so both namings land on our (= ltx-core's) names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ltxflow.engine.checkpoint.keys import COMFY_PREFIX, RULES

Role = Literal["A", "B", "alpha"]  # A: (rank, in) down-projection, B: (out, rank) up-projection

SUFFIXES: tuple[tuple[str, Role], ...] = (
    (".lora_A.weight", "A"),
    (".lora_B.weight", "B"),
    (".lora_down.weight", "A"),
    (".lora_up.weight", "B"),
    (".alpha", "alpha"),
)

# (file prefix, what replaces it before routing): the routing table knows the ComfyUI prefix and bare names
PREFIXES: tuple[tuple[str, str], ...] = (
    (COMFY_PREFIX, COMFY_PREFIX),
    ("diffusion_model.", COMFY_PREFIX),
    ("transformer.", ""),
)


@dataclass(frozen=True)
class LoraKey:
    """One file key understood: the transformer module it adapts and which tensor of the pair it is."""

    key: str  # as in the file
    module: str  # our module name, e.g. "transformer_blocks.0.attn1.to_q"
    role: Role


class LoraKeyError(ValueError):
    """A key that names no LoRA tensor or no transformer module (the caller adds the file name)."""


def parse_key(key: str) -> LoraKey:
    """The module and role of one LoRA file key; LoraKeyError says why a key is not one."""
    suffix, role = next(((s, r) for s, r in SUFFIXES if key.endswith(s)), ("", None))
    if role is None:
        raise LoraKeyError(f"key {key!r} is not a LoRA tensor (expected <module>.lora_A.weight / .lora_B.weight)")
    name = key[: -len(suffix)]
    file_prefix, routed_prefix = next(((p, r) for p, r in PREFIXES if name.startswith(p)), ("", ""))
    candidate = routed_prefix + name[len(file_prefix):] + ".weight"
    rule, ours = next(((r, o) for r in RULES if (o := r.apply(candidate)) is not None), (None, None))
    if rule is None or ours is None:
        raise LoraKeyError(f"key {key!r} matches no transformer module")
    if rule.components != ("transformer",):
        raise LoraKeyError(f"key {key!r} targets the {', '.join(rule.components)} weights; "
                           "ltxflow fuses LoRAs into the transformer only (as the reference)")  # fmt: skip
    return LoraKey(key, ours.removesuffix(".weight"), role)
