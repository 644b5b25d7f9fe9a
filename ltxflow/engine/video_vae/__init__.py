"""Our LTX-2 / LTX-2.3 video VAE: config, encoder, decoder, latent statistics and tiled decoding."""

from ltxflow.engine.video_vae.config import BlockSpec, VideoVAEConfig, VideoVAEError
from ltxflow.engine.video_vae.decoder import VideoDecoder, build_decoder, decode_to_frames, video_to_frames
from ltxflow.engine.video_vae.encoder import VideoEncoder, build_encoder, encode_frames, frames_to_video
from ltxflow.engine.video_vae.latent_stats import PerChannelStatistics
from ltxflow.engine.video_vae.tiling import TilingConfig, tiled_decode

__all__ = [
    "BlockSpec",
    "PerChannelStatistics",
    "TilingConfig",
    "VideoDecoder",
    "VideoEncoder",
    "VideoVAEConfig",
    "VideoVAEError",
    "build_decoder",
    "build_encoder",
    "decode_to_frames",
    "encode_frames",
    "frames_to_video",
    "tiled_decode",
    "video_to_frames",
]
