"""SpeedOptions: which accelerations `accelerate` applies to a built LTXTransformer."""

from __future__ import annotations

from dataclasses import dataclass

from torch.nn.attention import SDPBackend

BACKENDS = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}


@dataclass(frozen=True)
class SpeedOptions:
    """Inference accelerations. The defaults compute the plain path's function (they differ from it by rounding
    only); FP8 changes the function (quantisation) and block offloading is bounded by host-to-device bandwidth, so
    both are opt-in."""

    attention: tuple[str, ...] = ("cudnn", "flash", "efficient", "math")  # SDPA backends, best first; () = torch's
    fuse_projections: bool = True  # one GEMM for self-attention q|k|v and for cross-attention k|v
    compile: bool = True  # torch.compile the elementwise ops (CUDA only; ignored on CPU)
    compile_blocks: bool = True  # torch.compile each whole block instead (fuses across ops; CUDA, not offloaded)
    fp8: bool = False  # row-wise FP8 for the video-token linear layers of every block (approximate)
    offload_blocks: bool = False  # block weights in host memory, streamed to the GPU one block ahead (CUDA)

    def __post_init__(self) -> None:
        unknown = [name for name in self.attention if name not in BACKENDS]
        if unknown:
            raise ValueError(f"SpeedOptions.attention: unknown backend(s) {unknown}; choose from {sorted(BACKENDS)}")


# the reference-identical path
PLAIN = SpeedOptions(attention=(), fuse_projections=False, compile=False, compile_blocks=False)
