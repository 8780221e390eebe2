"""P4: splitting a 2,000-node current-graph prompt at submission and serializing the remote part.

``python bench/p4_submission.py`` (``--smoke``: 60 nodes, 3 rounds). Builds an API-format prompt
of realistic nodes (a shared checkpoint loader, then branches of text encoders, latent, sampler,
decode, scale and save, titles and long prompt texts; a FloyoRemoteRun in 'current graph' mode
with override nodes and a local preview after it) and times what the prompt hook does:
``floyo_client.workflow.partition`` with an output-node predicate, then ``json.dumps`` of the
remote part. (The hook itself needs ComfyUI's ``nodes`` module for ``is_output_node``; the
predicate here is a set lookup, as cheap as that dictionary lookup.) Goal: <= 50 ms. Printed
beside it, as a machine-speed reference measured in the same rounds: one ``json.dumps`` of the
whole prompt, which ComfyUI's own /prompt handling already costs.
"""

from __future__ import annotations

import argparse
import json

import _pack  # noqa: F401  (loads the pack as floyo_pack)
from _common import Timer, machine, median, table, verdict
from floyo_pack.floyo_client.workflow import partition

OUTPUT_TYPES = {"SaveImage", "PreviewImage"}
BRANCH = 7  # nodes per branch


def build_prompt(nodes: int) -> tuple[dict, str]:
    """(prompt, id of the FloyoRemoteRun node) with about ``nodes`` nodes."""
    prompt: dict[str, dict] = {"1": {"class_type": "CheckpointLoaderSimple",
                                     "_meta": {"title": "Load Checkpoint"},
                                     "inputs": {"ckpt_name": "sdxl/juggernautXL_v9.safetensors"}}}
    next_id = 2

    def add(class_type: str, title: str, **inputs: object) -> str:
        nonlocal next_id
        node_id = str(next_id)
        next_id += 1
        prompt[node_id] = {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}
        return node_id

    branch = 0
    scaled = "1"
    while next_id + BRANCH + 6 <= nodes:
        text = (f"branch {branch}: a cinematic photo of a lighthouse on a cliff at dusk, volumetric light, "
                "35mm, film grain, highly detailed, sharp focus, golden hour, dramatic clouds, ") * 2
        pos = add("CLIPTextEncode", f"Positive {branch}", text=text, clip=["1", 1])
        neg = add("CLIPTextEncode", f"Negative {branch}", text="blurry, lowres, watermark, text",
                  clip=["1", 1])
        latent = add("EmptyLatentImage", f"Latent {branch}", width=1024, height=1024, batch_size=1)
        sampler = add("KSampler", f"Sampler {branch}", seed=1000 + branch, steps=30, cfg=6.5,
                      sampler_name="dpmpp_2m", scheduler="karras", denoise=1.0, model=["1", 0],
                      positive=[pos, 0], negative=[neg, 0], latent_image=[latent, 0])
        decoded = add("VAEDecode", f"Decode {branch}", samples=[sampler, 0], vae=["1", 2])
        scaled = add("ImageScale", f"Scale {branch}", image=[decoded, 0], upscale_method="lanczos",
                     width=768, height=768, crop="disabled")
        add("SaveImage", f"Save {branch}", images=[scaled, 0], filename_prefix=f"remote/branch_{branch}")
        branch += 1
    seed = add("FloyoOverrideInt", "Seed override", target="Sampler 0", input="seed", value=42)
    text = add("FloyoOverrideText", "Prompt override", target="Positive 0", input="text", value="a fox",
               previous=[seed, 0])
    floyo = add("FloyoRemoteRun", "Floyo Remote Run", source="current graph", workflow="",
                overrides=[text, 0], run_name="", timeout=3600, size_policy="pad to largest")
    upscale = add("ImageScaleBy", "Local upscale", image=[floyo, 0], upscale_method="lanczos", scale_by=1.5)
    add("PreviewImage", "Local preview", images=[upscale, 0])
    while next_id <= nodes:  # top up to the exact count with remote previews
        add("PreviewImage", "Preview", images=[scaled, 0])
    return prompt, floyo


def submit(prompt: dict, floyo: str) -> str:
    part = partition(prompt, floyo, OUTPUT_TYPES.__contains__, lambda t: t.startswith("Floyo"))
    return json.dumps(part.remote, sort_keys=True, separators=(",", ":"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="60 nodes, 3 rounds (checks it works)")
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    if args.smoke:
        args.nodes, args.rounds = 60, 3
    prompt, floyo = build_prompt(args.nodes)
    # The remote part: every branch, not the Floyo node or what follows it.
    remote = json.loads(submit(prompt, floyo))
    assert floyo not in remote and "1" in remote and len(remote) == len(prompt) - 5
    split, dump = [], []
    for _ in range(args.rounds):
        with Timer() as t:
            submit(prompt, floyo)
        split.append(t.seconds)
        with Timer() as t:
            json.dumps(prompt)
        dump.append(t.seconds)
    ms = median(split) * 1000
    ref = median(dump) * 1000
    print(f"P4 submission: {len(prompt)}-node current-graph prompt ({len(remote)} remote), "
          f"{args.rounds} rounds, medians; {machine()}")
    table("Times (ms)", [
        ("partition + json.dumps(remote part)", f"{ms:.1f}"),
        ("reference: json.dumps(whole prompt)", f"{ref:.1f}"),
    ], ("step", "median ms"))
    table("Ratios", [
        ("split / 50 ms budget", f"{ms / 50:.2f}", "<= 1.0", verdict(ms <= 50)),
        ("split / json.dumps(prompt)", f"{ms / ref:.1f}", "(machine-independent figure)", "-"),
    ], ("ratio", "measured", "goal", "status"))


if __name__ == "__main__":
    main()
