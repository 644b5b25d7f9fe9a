"""Waveform <-> audio latent: the two calls the engine makes around the diffusion loop."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ltxflow.engine.audio.bwe import VocoderWithBWE
from ltxflow.engine.audio.config import AudioError, VocoderConfig
from ltxflow.engine.audio.hifigan import HiFiGAN
from ltxflow.engine.audio.mel import MelSpec, log_mel_spectrogram, resample, to_stereo
from ltxflow.engine.audio.vae import AudioDecoder, AudioEncoder

LATENTS_PER_SECOND = 25  # 16 kHz / hop 160 / 4


def latent_frames_for(num_frames: int, fps: float) -> int:
    """Audio latent count for a clip of `num_frames` video frames at `fps`: round(seconds x 25)."""
    return round(num_frames / fps * LATENTS_PER_SECOND)


def encoder_mel_spec(encoder: AudioEncoder) -> MelSpec:
    """The mel parameters an encoder was trained on (f_max = Nyquist)."""
    cfg = encoder.cfg
    return MelSpec(sample_rate=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.mel_bins or 64)


@torch.no_grad()
def encode_waveform(
    waveform: torch.Tensor, sample_rate: int, encoder: AudioEncoder, latent_frames: int | None = None
) -> torch.Tensor:
    """(C, S) or (B, C, S) audio at `sample_rate` -> (B, z, A, 16) normalised latents, cropped to `latent_frames`."""
    if waveform.dim() == 2:
        waveform = waveform[None]  # (1, C, S)
    if waveform.dim() != 3 or waveform.shape[-1] == 0:
        raise AudioError(f"waveform must be (channels, samples) or (batch, channels, samples), got {waveform.shape}")
    param = next(encoder.parameters())
    spec = encoder_mel_spec(encoder)
    audio = resample(waveform.float(), sample_rate, spec.sample_rate)  # (B, C, S') at 16 kHz
    audio = to_stereo(audio).to(param.device)  # (B, 2, S')
    mel = log_mel_spectrogram(audio, spec)  # (B, 2, T_mel, 64)
    latents = encoder(mel.to(param.dtype))  # (B, z, (T_mel-1)//4+1, 16)
    if latent_frames is not None:
        if latent_frames > latents.shape[2]:
            raise AudioError(
                f"reference audio gives {latents.shape[2]} latent frames, shorter than the {latent_frames} needed"
            )
        latents = latents[:, :, :latent_frames]  # (B, z, A, 16)
    return latents


@torch.no_grad()
def decode_to_waveform(
    latents: torch.Tensor, decoder: AudioDecoder, vocoder: nn.Module
) -> tuple[torch.Tensor, int]:
    """(B, z, A, 16) normalised latents -> ((B, 2, S) float32 waveform in [-1, 1], sample rate in Hz)."""
    param = next(decoder.parameters())
    mel = decoder(latents.to(device=param.device, dtype=param.dtype))  # (B, 2, 4A-3, 64)
    voc_param = next(vocoder.parameters())
    wave = vocoder(mel.to(device=voc_param.device, dtype=voc_param.dtype))  # (B, 2, S)
    return wave.float(), int(vocoder.output_sampling_rate)


def build_vocoder(config: dict[str, Any]) -> nn.Module:
    """Our vocoder for a checkpoint's full `config` metadata: HiFi-GAN (LTX-2) or BigVGAN + BWE (LTX-2.3)."""
    cfg = VocoderConfig.from_checkpoint_config(config)
    return VocoderWithBWE(cfg) if cfg.bwe is not None else HiFiGAN(cfg.generator)
