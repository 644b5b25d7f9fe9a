"""Audio VAE and vocoder configuration, read from a checkpoint's `config["audio_vae"]` / `config["vocoder"]`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from ltxflow.errors import LtxflowError

LATENT_TIME_FACTOR = 4  # mel frames per audio latent frame (two stride-2 levels)


class AudioError(LtxflowError):
    """An audio VAE / vocoder configuration or input that we cannot use."""


def _get(section: Mapping[str, Any], key: str, default: Any, where: str) -> Any:
    """section[key] or `default`; a section that is not a mapping is an error naming `where`."""
    if not isinstance(section, Mapping):
        raise AudioError(f"{where} must be a mapping, got {type(section).__name__}")
    return section.get(key, default)


def _int(value: Any, where: str, minimum: int = 1) -> int:
    """A whole number >= minimum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise AudioError(f"{where} = {value!r} must be an integer >= {minimum}")
    return value


def _ints(value: Any, where: str, minimum: int = 1) -> tuple[int, ...]:
    """A non-empty list of whole numbers >= minimum."""
    if not isinstance(value, (list, tuple)) or not value:
        raise AudioError(f"{where} = {value!r} must be a non-empty list of integers")
    return tuple(_int(v, f"{where}[{i}]", minimum) for i, v in enumerate(value))


def _bool(value: Any, where: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise AudioError(f"{where} = {value!r} must be true or false")
    return value


def _choice(value: Any, allowed: tuple[Any, ...], where: str) -> Any:
    """One of `allowed`; anything else names what we support."""
    if value not in allowed:
        raise AudioError(f"{where} = {value!r} is not supported (supported: {', '.join(map(repr, allowed))})")
    return value


@dataclass(frozen=True)
class AudioVAEConfig:
    """Architecture of the LTX-2 audio VAE (mel spectrogram <-> latent); encoder and decoder share it."""

    ch: int = 128  # base width; also the length of the latent statistics (= z_channels * latent mel bins)
    ch_mult: tuple[int, ...] = (1, 2, 4)  # width multiplier per level; len-1 stride-2 levels
    num_res_blocks: int = 2  # encoder resnets per level (the decoder has one more)
    attn_resolutions: tuple[int, ...] = (8, 16, 32)  # levels whose running `resolution` is listed get attention
    resolution: int = 256  # nominal input size, only used to pick attention levels
    z_channels: int = 8  # latent channels
    double_z: bool = True  # encoder conv_out emits mean and log-variance (we keep the mean)
    in_channels: int = 2  # stereo mel input
    out_ch: int = 2  # stereo mel output
    encoder_attention: bool = True  # encoder attn_type "vanilla" (True) or "none"; the decoder is always vanilla
    mid_block_add_attention: bool = True  # attention between the two mid resnets
    dropout: float = 0.0  # inference: unused
    sample_rate: int = 16000  # Hz of the waveform the mel is computed from
    hop_length: int = 160  # samples per mel frame
    n_fft: int = 1024  # STFT size (and window length)
    is_causal: bool = True  # causal STFT timing (positions only)
    mel_bins: int | None = 64  # mel bands; None: the decoder keeps its natural width

    @property
    def latent_channels(self) -> int:
        """Channels of the (mean) latent."""
        return self.z_channels

    def latent_frames(self, mel_frames: int) -> int:
        """Latent frames the encoder makes from `mel_frames` mel frames: (T - 1) // 4 + 1."""
        return (mel_frames - 1) // LATENT_TIME_FACTOR + 1

    def mel_frames(self, latent_frames: int) -> int:
        """Mel frames the decoder makes from `latent_frames` latents: 4A - 3 (at least 1)."""
        return max(latent_frames * LATENT_TIME_FACTOR - (LATENT_TIME_FACTOR - 1), 1)

    @classmethod
    def from_checkpoint_config(cls, config: Mapping[str, Any]) -> AudioVAEConfig:
        """Parse the `audio_vae` section of a checkpoint's `config` metadata, reference defaults for absent keys."""
        where = "config['audio_vae']"
        section = _get(config, "audio_vae", None, "config")
        if section is None:
            raise AudioError("checkpoint config has no 'audio_vae' section")
        params = _get(_get(section, "model", {}, f"{where}['model']"), "params", {}, f"{where}['model']")
        dd = _get(params, "ddconfig", {}, f"{where}['model']['params']")
        pre = _get(section, "preprocessing", {}, where)
        stft = _get(pre, "stft", {}, f"{where}['preprocessing']")
        mel = _get(pre, "mel", {}, f"{where}['preprocessing']")
        variables = _get(section, "variables", {}, where)
        ddw = f"{where}['model']['params']['ddconfig']"

        _choice(dd.get("norm_type", "pixel"), ("pixel",), f"{ddw}['norm_type']")
        _choice(dd.get("causality_axis", "height"), ("height",), f"{ddw}['causality_axis']")
        attn_type = _choice(dd.get("attn_type", "vanilla"), ("vanilla", "none"), f"{ddw}['attn_type']")
        if not _bool(dd.get("resamp_with_conv", True), f"{ddw}['resamp_with_conv']"):
            raise AudioError(f"{ddw}['resamp_with_conv'] = false is not supported (causal levels need the conv)")
        mel_bins = dd.get("mel_bins") or mel.get("n_mel_channels") or variables.get("mel_bins")
        cfg = cls(
            ch=_int(dd.get("ch", 128), f"{ddw}['ch']"),
            ch_mult=_ints(dd.get("ch_mult", (1, 2, 4)), f"{ddw}['ch_mult']"),
            num_res_blocks=_int(dd.get("num_res_blocks", 2), f"{ddw}['num_res_blocks']"),
            attn_resolutions=_ints(
                list(dd.get("attn_resolutions", (8, 16, 32))) or [0], f"{ddw}['attn_resolutions']", 0
            ),
            resolution=_int(dd.get("resolution", 256), f"{ddw}['resolution']"),
            z_channels=_int(dd.get("z_channels", 8), f"{ddw}['z_channels']"),
            double_z=_bool(dd.get("double_z", True), f"{ddw}['double_z']"),
            in_channels=_int(dd.get("in_channels", 2), f"{ddw}['in_channels']"),
            out_ch=_int(dd.get("out_ch", 2), f"{ddw}['out_ch']"),
            encoder_attention=attn_type == "vanilla",
            mid_block_add_attention=_bool(dd.get("mid_block_add_attention", True), f"{ddw}['mid_block_add_attention']"),
            dropout=float(dd.get("dropout", 0.0)),
            sample_rate=_int(params.get("sampling_rate", 16000), f"{where}['model']['params']['sampling_rate']"),
            hop_length=_int(stft.get("hop_length", 160), f"{where}['preprocessing']['stft']['hop_length']"),
            n_fft=_int(stft.get("filter_length", 1024), f"{where}['preprocessing']['stft']['filter_length']"),
            is_causal=_bool(stft.get("causal", True), f"{where}['preprocessing']['stft']['causal']"),
            mel_bins=None if mel_bins is None else _int(mel_bins, f"{where} mel_bins"),
        )
        return cfg

    def to_checkpoint_section(self) -> dict[str, Any]:
        """The `audio_vae` metadata section that parses back to this config."""
        ddconfig: dict[str, Any] = {
            "ch": self.ch,
            "ch_mult": list(self.ch_mult),
            "num_res_blocks": self.num_res_blocks,
            "attn_resolutions": list(self.attn_resolutions),
            "resolution": self.resolution,
            "z_channels": self.z_channels,
            "double_z": self.double_z,
            "in_channels": self.in_channels,
            "out_ch": self.out_ch,
            "attn_type": "vanilla" if self.encoder_attention else "none",
            "mid_block_add_attention": self.mid_block_add_attention,
            "norm_type": "pixel",
            "causality_axis": "height",
            "dropout": self.dropout,
        }
        if self.mel_bins is not None:
            ddconfig["mel_bins"] = self.mel_bins
        return {
            "model": {"params": {"ddconfig": ddconfig, "sampling_rate": self.sample_rate}},
            "preprocessing": {
                "stft": {"hop_length": self.hop_length, "filter_length": self.n_fft, "causal": self.is_causal}
            },
        }

    @classmethod
    def tiny(cls, **changes: Any) -> AudioVAEConfig:
        """A few-channel CPU test config; ch 32 = 2 z channels x 16 latent mel bins, as the statistics require."""
        base = cls(ch=32, ch_mult=(1, 2, 4), num_res_blocks=1, z_channels=2, mid_block_add_attention=False)
        return replace(base, **changes)


@dataclass(frozen=True)
class GeneratorConfig:
    """One mel -> waveform upsampling generator: HiFi-GAN (resblock "1") or BigVGAN-v2 (resblock "AMP1")."""

    resblock: str = "1"  # "1": HiFi-GAN ResBlock1 with LeakyReLU; "AMP1": anti-aliased SnakeBeta blocks
    upsample_initial_channel: int = 1024  # width after conv_pre; halves at every upsampling stage
    upsample_rates: tuple[int, ...] = (6, 5, 2, 2, 2)  # transposed-conv strides; product = samples per mel frame
    upsample_kernel_sizes: tuple[int, ...] = (16, 15, 8, 4, 4)
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)  # one residual block per kernel size at every stage
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    output_sampling_rate: int = 24000  # Hz
    use_tanh_at_final: bool = True  # final tanh (else clamp to [-1, 1])
    apply_final_activation: bool = True  # False for the BWE generator (raw residual)
    use_bias_at_final: bool = True  # conv_post bias

    @property
    def hop(self) -> int:
        """Output samples per input mel frame."""
        out = 1
        for rate in self.upsample_rates:
            out *= rate
        return out

    @classmethod
    def from_section(cls, cfg: Mapping[str, Any], where: str, resblock: str, **overrides: Any) -> GeneratorConfig:
        """Parse one generator section; `resblock` is the block type this slot requires."""
        _choice(_get(cfg, "resblock", "1", where), (resblock,), f"{where}['resblock']")
        _choice(cfg.get("stereo", True), (True,), f"{where}['stereo']")
        if resblock == "AMP1":
            _choice(cfg.get("activation", "snake"), ("snakebeta",), f"{where}['activation']")
        rates = _ints(cfg.get("upsample_rates", (6, 5, 2, 2, 2)), f"{where}['upsample_rates']")
        kernels = _ints(cfg.get("upsample_kernel_sizes", (16, 15, 8, 4, 4)), f"{where}['upsample_kernel_sizes']")
        if len(rates) != len(kernels):
            raise AudioError(f"{where}: upsample_rates and upsample_kernel_sizes differ in length")
        res_kernels = _ints(cfg.get("resblock_kernel_sizes", (3, 7, 11)), f"{where}['resblock_kernel_sizes']")
        dil = cfg.get("resblock_dilation_sizes", [[1, 3, 5]] * 3)
        if not isinstance(dil, (list, tuple)) or len(dil) != len(res_kernels):
            raise AudioError(f"{where}['resblock_dilation_sizes'] must hold one list per resblock kernel size")
        dilations = tuple(_ints(d, f"{where}['resblock_dilation_sizes'][{i}]") for i, d in enumerate(dil))
        if any(len(d) != 3 for d in dilations):
            raise AudioError(f"{where}['resblock_dilation_sizes'] entries must hold 3 dilations each")
        initial = _int(cfg.get("upsample_initial_channel", 1024), f"{where}['upsample_initial_channel']")
        if initial % 2 ** len(rates):
            raise AudioError(f"{where}['upsample_initial_channel'] = {initial} must halve {len(rates)} times")
        values: dict[str, Any] = dict(
            resblock=resblock,
            upsample_initial_channel=initial,
            upsample_rates=rates,
            upsample_kernel_sizes=kernels,
            resblock_kernel_sizes=res_kernels,
            resblock_dilation_sizes=dilations,
            output_sampling_rate=_int(cfg.get("output_sampling_rate", 24000), f"{where}['output_sampling_rate']"),
            use_tanh_at_final=_bool(cfg.get("use_tanh_at_final", True), f"{where}['use_tanh_at_final']"),
            use_bias_at_final=_bool(cfg.get("use_bias_at_final", True), f"{where}['use_bias_at_final']"),
        )
        values.update(overrides)
        return cls(**values)

    def to_section(self) -> dict[str, Any]:
        """The metadata dict that parses back to this generator."""
        section: dict[str, Any] = {
            "resblock": self.resblock,
            "stereo": True,
            "upsample_initial_channel": self.upsample_initial_channel,
            "upsample_rates": list(self.upsample_rates),
            "upsample_kernel_sizes": list(self.upsample_kernel_sizes),
            "resblock_kernel_sizes": list(self.resblock_kernel_sizes),
            "resblock_dilation_sizes": [list(d) for d in self.resblock_dilation_sizes],
            "output_sampling_rate": self.output_sampling_rate,
            "use_tanh_at_final": self.use_tanh_at_final,
            "use_bias_at_final": self.use_bias_at_final,
        }
        if self.resblock == "AMP1":
            section["activation"] = "snakebeta"
        return section


@dataclass(frozen=True)
class BWEConfig:
    """LTX-2.3 bandwidth extension: causal log-mel of the base waveform -> residual at the higher rate."""

    generator: GeneratorConfig  # BigVGAN-v2 generator (no final activation)
    input_sampling_rate: int = 16000  # Hz of the base vocoder's output
    output_sampling_rate: int = 48000  # Hz; must be a whole multiple of the input rate
    n_fft: int = 512  # causal STFT size (= window length)
    hop_length: int = 80  # samples per mel frame at the input rate
    num_mels: int = 64  # mel bands fed to the generator (2 x num_mels = its conv_pre input)

    @property
    def ratio(self) -> int:
        """Output samples per input sample."""
        return self.output_sampling_rate // self.input_sampling_rate


@dataclass(frozen=True)
class VocoderConfig:
    """The mel -> waveform stage: LTX-2 HiFi-GAN (bwe None) or LTX-2.3 BigVGAN-v2 + BWE."""

    generator: GeneratorConfig
    bwe: BWEConfig | None = None

    @property
    def output_sampling_rate(self) -> int:
        """Hz of the final waveform."""
        return self.bwe.output_sampling_rate if self.bwe else self.generator.output_sampling_rate

    @classmethod
    def from_checkpoint_config(cls, config: Mapping[str, Any]) -> VocoderConfig:
        """Parse the `vocoder` section: flat (LTX-2) or nested `vocoder` + `bwe` (LTX-2.3)."""
        section = _get(config, "vocoder", None, "config")
        if section is None:
            raise AudioError("checkpoint config has no 'vocoder' section")
        where = "config['vocoder']"
        if not isinstance(section, Mapping):
            raise AudioError(f"{where} must be a mapping, got {type(section).__name__}")
        if "bwe" not in section:
            return cls(generator=GeneratorConfig.from_section(section, where, "1"))
        bwe = _get(section, "bwe", {}, where)
        bw = f"{where}['bwe']"
        for key in ("input_sampling_rate", "output_sampling_rate", "n_fft", "hop_length", "num_mels"):
            if key not in bwe:
                raise AudioError(f"{bw} has no {key!r}")
        rate_in = _int(bwe["input_sampling_rate"], f"{bw}['input_sampling_rate']")
        rate_out = _int(bwe["output_sampling_rate"], f"{bw}['output_sampling_rate']")
        if rate_out % rate_in:
            raise AudioError(f"{bw}: output_sampling_rate {rate_out} is not a whole multiple of {rate_in}")
        num_mels = _int(bwe["num_mels"], f"{bw}['num_mels']")
        _choice(num_mels, (64,), f"{bw}['num_mels']")  # generator input is fixed at 2 x 64 channels
        bwe_cfg = BWEConfig(
            generator=GeneratorConfig.from_section(
                bwe, bw, "AMP1", apply_final_activation=False, output_sampling_rate=rate_out
            ),
            input_sampling_rate=rate_in,
            output_sampling_rate=rate_out,
            n_fft=_int(bwe["n_fft"], f"{bw}['n_fft']"),
            hop_length=_int(bwe["hop_length"], f"{bw}['hop_length']"),
            num_mels=num_mels,
        )
        if bwe_cfg.generator.hop != bwe_cfg.hop_length * bwe_cfg.ratio:
            raise AudioError(
                f"{bw}: upsample_rates multiply to {bwe_cfg.generator.hop}, "
                f"expected hop_length x rate ratio = {bwe_cfg.hop_length * bwe_cfg.ratio}"
            )
        base = GeneratorConfig.from_section(
            _get(section, "vocoder", {}, where), f"{where}['vocoder']", "AMP1", output_sampling_rate=rate_in
        )
        return cls(generator=base, bwe=bwe_cfg)

    def to_checkpoint_section(self) -> dict[str, Any]:
        """The `vocoder` metadata section that parses back to this config."""
        if self.bwe is None:
            return self.generator.to_section()
        bwe = self.bwe.generator.to_section()
        bwe.update(
            input_sampling_rate=self.bwe.input_sampling_rate,
            output_sampling_rate=self.bwe.output_sampling_rate,
            n_fft=self.bwe.n_fft,
            hop_length=self.bwe.hop_length,
            num_mels=self.bwe.num_mels,
        )
        return {"vocoder": self.generator.to_section(), "bwe": bwe}

    @classmethod
    def tiny_hifigan(cls) -> VocoderConfig:
        """A few-channel LTX-2-style HiFi-GAN for CPU tests (x8 upsampling)."""
        gen = GeneratorConfig(
            upsample_initial_channel=16,
            upsample_rates=(4, 2),
            upsample_kernel_sizes=(8, 4),
            resblock_kernel_sizes=(3, 5),
            resblock_dilation_sizes=((1, 3, 5), (1, 3, 5)),
        )
        return cls(generator=gen)

    @classmethod
    def tiny_bigvgan_bwe(cls) -> VocoderConfig:
        """A few-channel LTX-2.3-style BigVGAN + BWE for CPU tests (x4 base, hop 8, x3 extension)."""
        base = GeneratorConfig(
            resblock="AMP1",
            upsample_initial_channel=16,
            upsample_rates=(2, 2),
            upsample_kernel_sizes=(4, 4),
            resblock_kernel_sizes=(3, 5),
            resblock_dilation_sizes=((1, 3, 5), (1, 3, 5)),
            output_sampling_rate=16000,
            use_tanh_at_final=False,
            use_bias_at_final=False,
        )
        bwe_gen = replace(
            base,
            upsample_rates=(6, 4),
            upsample_kernel_sizes=(12, 8),
            apply_final_activation=False,
            output_sampling_rate=48000,
        )
        bwe = BWEConfig(bwe_gen, input_sampling_rate=16000, output_sampling_rate=48000, n_fft=32, hop_length=8)
        return cls(generator=base, bwe=bwe)
