"""Make PyPI's (CUDA-linked) torchvision importable beside the CPU-only torch wheel.

PyPI's torchvision==0.28.0 (the release matching torch 2.13) ships C++ extensions
(_C.so, image.so) linked against libtorch_cuda / libc10_cuda, which the CPU torch
wheel lacks, and its __init__ unconditionally registers fake kernels for
torchvision::nms & co, which raises "operator torchvision::nms does not exist".
This removes the extensions and guards those registrations, leaving a pure-Python
torchvision: transforms, transforms.functional, models, utils work; torchvision.ops
(nms, roi_align, deform_conv2d) and torchvision.io image decoding raise.
Idempotent. Run with the venv's python after installing torchvision==0.28.0
(and optionally torchaudio==2.11.1 --no-deps).
Used by .ci/setup.sh.
"""

import importlib.util
import pathlib

spec = importlib.util.find_spec("torchvision")
pkg = pathlib.Path(spec.origin).parent
for so in list(pkg.glob("*.so")):
    so.unlink()
init = pkg / "__init__.py"
src = init.read_text()
marker = "CPU-torch patch"
if marker not in src:
    start = src.index("from torchvision import (\n    _autograd_registrations,")
    end = src.index(")  # usort:skip", start) + len(")  # usort:skip")
    src = (
        src[:start]
        + "from torchvision import datasets, io, models, ops, transforms, utils  # usort:skip\n"
        + f"if extension._has_ops():  # {marker}: C++ ops absent, skip their registrations\n"
        + "    from torchvision import _autograd_registrations, _meta_registrations  # noqa: F401"
        + src[end:]
    )
    init.write_text(src)
print(f"patched {init}")  # noqa: T201

# Optional: torchaudio (PyPI has no 2.13 release; 2.11.1 --no-deps works as pure Python once its
# CUDA-linked .so files are removed: torchaudio.functional / transforms work, ComfyUI's audio nodes import).
ta = importlib.util.find_spec("torchaudio")
if ta is not None:
    for so in pathlib.Path(ta.origin).parent.joinpath("lib").glob("*.so"):
        so.unlink()
    print("stripped torchaudio C++ extensions")  # noqa: T201
