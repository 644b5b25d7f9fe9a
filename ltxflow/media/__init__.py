"""Reading conditioning media: images, audio and video files fitted to a clip's size, rate and length."""

from ltxflow.media.audio import read_audio
from ltxflow.media.errors import MediaError
from ltxflow.media.image import fit_cover, read_image
from ltxflow.media.video import read_video

__all__ = ["MediaError", "fit_cover", "read_audio", "read_image", "read_video"]
