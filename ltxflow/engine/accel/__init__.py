"""Acceleration beside the model: cuDNN attention, packed projections, torch.compile, FP8 and block offloading.

`accelerate(model, SpeedOptions(...))` rewrites a loaded `LTXTransformer` in place through module replacement and
hooks; the model package itself only holds the reference computation.
"""

from ltxflow.engine.accel.apply import Acceleration, accelerate
from ltxflow.engine.accel.fp8 import FP8_MAX, Fp8Linear, quantize_rows
from ltxflow.engine.accel.offload import BlockOffloader
from ltxflow.engine.accel.options import BACKENDS, PLAIN, SpeedOptions

__all__ = ["BACKENDS", "FP8_MAX", "PLAIN", "Acceleration", "BlockOffloader", "Fp8Linear", "SpeedOptions",
           "accelerate", "quantize_rows"]
