"""ltx-core's audio package imports torchaudio (no CPU wheel here); a bare stand-in lets the modules we compare load."""

import sys
import types

_stub = types.ModuleType("torchaudio")
_stub.transforms = types.ModuleType("torchaudio.transforms")  # only touched by AudioProcessor, which we never build
_stub.functional = types.ModuleType("torchaudio.functional")
sys.modules.setdefault("torchaudio", _stub)
