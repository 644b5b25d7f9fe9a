"""The LTX-2 audio path: mel spectrogram, audio VAE and vocoders (HiFi-GAN; BigVGAN-v2 with bandwidth extension)."""

from ltxflow.engine.audio.config import AudioError, AudioVAEConfig, BWEConfig, GeneratorConfig, VocoderConfig
from ltxflow.engine.audio.vae import AudioDecoder, AudioEncoder, build_audio_decoder, build_audio_encoder
from ltxflow.engine.audio.waveform import build_vocoder, decode_to_waveform, encode_waveform, latent_frames_for

__all__ = [
    "AudioDecoder",
    "AudioEncoder",
    "AudioError",
    "AudioVAEConfig",
    "BWEConfig",
    "GeneratorConfig",
    "VocoderConfig",
    "build_audio_decoder",
    "build_audio_encoder",
    "build_vocoder",
    "decode_to_waveform",
    "encode_waveform",
    "latent_frames_for",
]
