"""Video VAE configuration, read from a checkpoint's `config["vae"]` metadata section."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
ENCODER_BLOCKS = (
    "res_x",  # a stage of `num_layers` resnet blocks, channels kept
    "res_x_y",  # one resnet block that multiplies channels by `multiplier`
    "compress_time",  # strided causal conv, time /2
    "compress_space",  # strided causal conv, space /2
    "compress_all",  # strided causal conv, time, space /2
    "compress_all_x_y",  # strided causal conv, time, space /2, channels x `multiplier`
    "compress_time_res",  # space-to-depth with averaged shortcut, time /2, channels x `multiplier`
    "compress_space_res",  # ... space /2
    "compress_all_res",  # ... time and space /2
)
DECODER_BLOCKS = (
    "res_x",  # a stage of `num_layers` resnet blocks (timestep conditioned when the decoder is)
    "res_x_y",  # one resnet block that divides channels by `multiplier`
    "compress_time",  # conv + depth-to-space, time x2, channels / `multiplier`
    "compress_space",  # ... space x2
    "compress_all",  # ... time and space x2, optional `residual` shortcut
)
# Which axes (time, height, width) a block rescales by 2.
BLOCK_STRIDES: dict[str, tuple[int, int, int]] = {
    "compress_time": (2, 1, 1),
    "compress_space": (1, 2, 2),
    "compress_all": (2, 2, 2),
    "compress_all_x_y": (2, 2, 2),
    "compress_time_res": (2, 1, 1),
    "compress_space_res": (1, 2, 2),
    "compress_all_res": (2, 2, 2),
}


class VideoVAEError(ValueError):
    """A video VAE configuration or input that we cannot use."""


@dataclass(frozen=True)
class BlockSpec:
    """One entry of an encoder/decoder block list."""

    name: str
    num_layers: int = 1  # resnet blocks in a `res_x` stage
    multiplier: int = 1  # channel factor (x in the encoder, / in the decoder)
    residual: bool = False  # decoder `compress_all` only: add the depth-to-space shortcut

    @property
    def stride(self) -> tuple[int, int, int]:
        """(time, height, width) rescale factor of this block."""
        return BLOCK_STRIDES.get(self.name, (1, 1, 1))


@dataclass(frozen=True)
class VideoVAEConfig:
    """Architecture of the LTX-2 video VAE (encoder and decoder share one metadata section)."""

    encoder_blocks: tuple[BlockSpec, ...]
    decoder_blocks: tuple[BlockSpec, ...]  # in checkpoint order; the decoder runs them reversed
    in_channels: int = 3  # RGB
    out_channels: int = 3  # RGB
    latent_channels: int = 128
    patch_size: int = 4  # pixels per side folded into channels before the first conv
    latent_log_var: str = "uniform"  # encoder conv_out: "uniform"/"constant" -> C+1, "per_channel" -> 2C
    causal_decoder: bool = False
    timestep_conditioning: bool = True  # reference default when the key is absent; shipped configs say false
    decoder_base_channels: int = 128  # decoder conv_in width is 8x this
    spatial_padding_mode: str | None = None  # None: encoder "zeros", decoder "reflect" (reference defaults)

    @property
    def encoder_padding(self) -> str:
        """Spatial padding mode of the encoder convolutions."""
        return self.spatial_padding_mode or "zeros"

    @property
    def decoder_padding(self) -> str:
        """Spatial padding mode of the decoder convolutions."""
        return self.spatial_padding_mode or "reflect"

    @property
    def time_factor(self) -> int:
        """Pixel frames per latent frame (after the first): 8 for the shipped VAEs."""
        return math.prod(b.stride[0] for b in self.encoder_blocks)

    @property
    def space_factor(self) -> int:
        """Pixels per latent cell along H and W: 32 for the shipped VAEs."""
        return self.patch_size * math.prod(b.stride[1] for b in self.encoder_blocks)

    @classmethod
    def from_checkpoint_config(cls, config: Mapping[str, Any]) -> VideoVAEConfig:
        """Read the `vae` section of a checkpoint's `config` metadata (or that section itself)."""
        section = config["vae"] if "vae" in config else config
        if not isinstance(section, Mapping):
            raise VideoVAEError(f"config['vae'] must be a mapping, got {type(section).__name__}")
        return cls.from_vae_section(section)

    @classmethod
    def from_vae_section(cls, vae: Mapping[str, Any]) -> VideoVAEConfig:
        """Parse the `vae` metadata section, with the reference defaults for absent keys."""
        dims = vae.get("dims", 3)
        if dims != 3:
            raise VideoVAEError(f"config['vae']['dims'] = {dims!r} is not supported (only 3-D convolutions)")
        norm = vae.get("norm_layer", "pixel_norm")
        if norm != "pixel_norm":
            raise VideoVAEError(f"config['vae']['norm_layer'] = {norm!r} is not supported (only 'pixel_norm')")
        log_var = vae.get("latent_log_var", "uniform")
        if log_var not in ("uniform", "constant", "per_channel"):
            raise VideoVAEError(
                f"config['vae']['latent_log_var'] = {log_var!r} is not supported (uniform, constant, per_channel)"
            )
        padding = vae.get("spatial_padding_mode")
        if padding is not None and padding not in PADDING_MODES:
            raise VideoVAEError(f"config['vae']['spatial_padding_mode'] = {padding!r} is not one of {PADDING_MODES}")
        cfg = cls(
            encoder_blocks=_parse_blocks(vae.get("encoder_blocks", []), "encoder_blocks", ENCODER_BLOCKS),
            decoder_blocks=_parse_blocks(vae.get("decoder_blocks", []), "decoder_blocks", DECODER_BLOCKS),
            in_channels=_positive_int(vae, "in_channels", 3),
            out_channels=_positive_int(vae, "out_channels", 3),
            latent_channels=_positive_int(vae, "latent_channels", 128),
            patch_size=_positive_int(vae, "patch_size", 4),
            latent_log_var=log_var,
            causal_decoder=_bool(vae, "causal_decoder", False),
            timestep_conditioning=_bool(vae, "timestep_conditioning", True),
            decoder_base_channels=_positive_int(vae, "decoder_base_channels", 128),
            spatial_padding_mode=padding,
        )
        return cfg

    def to_vae_section(self) -> dict[str, Any]:
        """The metadata `vae` section that parses back to this config."""
        section: dict[str, Any] = {
            "dims": 3,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "latent_channels": self.latent_channels,
            "patch_size": self.patch_size,
            "norm_layer": "pixel_norm",
            "latent_log_var": self.latent_log_var,
            "causal_decoder": self.causal_decoder,
            "timestep_conditioning": self.timestep_conditioning,
            "decoder_base_channels": self.decoder_base_channels,
            "encoder_blocks": [_block_entry(b, decoder=False) for b in self.encoder_blocks],
            "decoder_blocks": [_block_entry(b, decoder=True) for b in self.decoder_blocks],
        }
        if self.spatial_padding_mode is not None:
            section["spatial_padding_mode"] = self.spatial_padding_mode
        return section

    # ---------------------------------------------------------------- tiny test layouts

    @classmethod
    def tiny_v2(cls, latent_channels: int = 8, base_channels: int = 8, layers: int = 1) -> VideoVAEConfig:
        """The LTX-2 ("2.0") block layout with tiny widths and depths (x8 time, x32 space)."""
        res = BlockSpec("res_x", num_layers=layers)
        enc = (
            res, BlockSpec("compress_space_res", multiplier=2), res, BlockSpec("compress_time_res", multiplier=2),
            res, BlockSpec("compress_all_res", multiplier=2), res, BlockSpec("compress_all_res", multiplier=2), res,
        )  # fmt: skip
        up = BlockSpec("compress_all", multiplier=2, residual=True)
        dec = (res, up, res, up, res, up, res)
        return cls(
            encoder_blocks=enc, decoder_blocks=dec, latent_channels=latent_channels,
            decoder_base_channels=base_channels, timestep_conditioning=False,
        )  # fmt: skip

    @classmethod
    def tiny_v23(cls, latent_channels: int = 8, base_channels: int = 8, layers: int = 1) -> VideoVAEConfig:
        """The LTX-2.3 block layout (no decoder residuals, zeros padding) with tiny widths and depths."""
        res = BlockSpec("res_x", num_layers=layers)
        enc = (
            res, BlockSpec("compress_space_res", multiplier=2), res, BlockSpec("compress_time_res", multiplier=2),
            res, BlockSpec("compress_all_res", multiplier=2), res, BlockSpec("compress_all_res", multiplier=1), res,
        )  # fmt: skip
        dec = (
            res, BlockSpec("compress_space", multiplier=2), res, BlockSpec("compress_time", multiplier=2),
            res, BlockSpec("compress_all", multiplier=1), res, BlockSpec("compress_all", multiplier=2), res,
        )  # fmt: skip
        return cls(
            encoder_blocks=enc, decoder_blocks=dec, latent_channels=latent_channels,
            decoder_base_channels=base_channels, timestep_conditioning=False, spatial_padding_mode="zeros",
        )  # fmt: skip


# -------------------------------------------------------------------- parsing helpers


def _parse_blocks(entries: Any, field: str, known: tuple[str, ...]) -> tuple[BlockSpec, ...]:
    """Parse `[[name, num_layers | {options}], ...]` into block specs."""
    if not isinstance(entries, (list, tuple)):
        raise VideoVAEError(f"config['vae']['{field}'] must be a list, got {type(entries).__name__}")
    specs = []
    for i, entry in enumerate(entries):
        where = f"config['vae']['{field}'][{i}]"
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise VideoVAEError(f"{where} must be [name, options], got {entry!r}")
        name, options = entry
        if name not in known:
            raise VideoVAEError(f"{where}: block {name!r} is not supported (known: {', '.join(known)})")
        if isinstance(options, int) and not isinstance(options, bool):
            options = {"num_layers": options}
        if not isinstance(options, Mapping):
            raise VideoVAEError(f"{where}: options must be an int or a mapping, got {options!r}")
        if options.get("inject_noise", False):
            raise VideoVAEError(f"{where}: inject_noise=true is not supported")
        if "attention_head_dim" in options:
            raise VideoVAEError(f"{where}: attention blocks are not supported")
        num_layers = options.get("num_layers", 1)
        if name == "res_x" and "num_layers" not in options:
            raise VideoVAEError(f"{where}: res_x needs num_layers")
        # Channel factor: x2 by default for *_x_y / *_res blocks, 1 for decoder upsamplers, unused elsewhere.
        decoder_up = field == "decoder_blocks" and name.startswith("compress")
        uses_multiplier = decoder_up or name.endswith(("_x_y", "_res"))
        multiplier = options.get("multiplier", 1 if decoder_up else 2) if uses_multiplier else 1
        for key, value in (("num_layers", num_layers), ("multiplier", multiplier)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise VideoVAEError(f"{where}: {key} must be a positive int, got {value!r}")
        # The reference honours `residual` only on the decoder's compress_all.
        residual = bool(options.get("residual", False)) and field == "decoder_blocks" and name == "compress_all"
        specs.append(BlockSpec(name, num_layers=num_layers, multiplier=multiplier, residual=residual))
    return tuple(specs)


def _block_entry(block: BlockSpec, decoder: bool) -> list[Any]:
    """One block list entry in metadata form."""
    if block.name == "res_x":
        return ["res_x", {"num_layers": block.num_layers}]
    options: dict[str, Any] = {"multiplier": block.multiplier}
    if decoder and block.name == "compress_all":
        options["residual"] = block.residual
    return [block.name, options]


def _positive_int(section: Mapping[str, Any], key: str, default: int) -> int:
    """A positive int from the section, or the default when absent."""
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise VideoVAEError(f"config['vae']['{key}'] must be a positive int, got {value!r}")
    return value


def _bool(section: Mapping[str, Any], key: str, default: bool) -> bool:
    """A bool from the section, or the default when absent."""
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise VideoVAEError(f"config['vae']['{key}'] must be true or false, got {value!r}")
    return value
