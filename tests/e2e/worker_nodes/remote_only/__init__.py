"""A tiny custom node installed in the gateway's *worker* ComfyUI only (never in the client that has
the pack): the node a user's graph needs but only the cloud has. ``RemoteOnlyTint`` raises the
red channel by ``amount``/255 (``add``) or lowers it (``subtract``); ``seed`` only gives it a
control-after-generate widget, as many real nodes have. ``RemoteOnlySteps`` passes its image
through after ``steps`` steps of ``seconds`` each, reporting each one as a sampler does (the
gateway's live progress, issue #25). Loaded by the worker from custom_nodes/.
"""

import time

import comfy.utils
import torch


class RemoteOnlyTint:
    CATEGORY = "testing/remote only"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "tint"

    @classmethod
    def INPUT_TYPES(cls):  # noqa: N802 - ComfyUI's name
        return {"required": {
            "image": ("IMAGE",),
            "seed": ("INT", {"default": 0, "min": 0, "max": 2**32 - 1, "control_after_generate": True}),
            "amount": ("INT", {"default": 100, "min": 0, "max": 255}),
            "mode": (["add", "subtract"],),
        }}

    def tint(self, image, seed, amount, mode):
        out = image.clone()
        step = amount / 255.0 if mode == "add" else -amount / 255.0
        out[..., 0] = torch.clamp(out[..., 0] + step, 0.0, 1.0)
        return (out,)


class RemoteOnlySteps:
    CATEGORY = "testing/remote only"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"

    @classmethod
    def INPUT_TYPES(cls):  # noqa: N802 - ComfyUI's name
        return {"required": {"image": ("IMAGE",), "steps": ("INT", {"default": 20, "min": 1, "max": 1000}),
                             "seconds": ("FLOAT", {"default": 0.5, "min": 0.0, "max": 10.0})}}

    def run(self, image, steps, seconds):
        bar = comfy.utils.ProgressBar(steps)
        for _ in range(steps):
            time.sleep(seconds)
            bar.update(1)
        return (image,)


NODE_CLASS_MAPPINGS = {"RemoteOnlyTint": RemoteOnlyTint, "RemoteOnlySteps": RemoteOnlySteps}
NODE_DISPLAY_NAME_MAPPINGS = {"RemoteOnlyTint": "Remote-only Tint (test)",
                              "RemoteOnlySteps": "Remote-only Steps (test)"}
