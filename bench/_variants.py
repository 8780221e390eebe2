"""The three ways P1/P2 turn a finished run's outputs into one IMAGE tensor.

``pack``: what the node does (``nodes/run/collect.collect``: download, save, decode).
``fetch_all``/``decode_all``: the two halves of the limit, each as fast as this machine allows.
``peer``: the common pattern in other packs: sequential downloads, PIL -> numpy -> list -> cat.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _pack  # noqa: F401  (loads the pack as floyo_pack)
import aiohttp
import numpy as np
import torch
from floyo_pack.floyo_client import FloyoClient, RunHandle
from floyo_pack.floyo_client.models import Run
from floyo_pack.nodes import comfy
from floyo_pack.nodes.run import collect
from PIL import Image

_tmp = tempfile.TemporaryDirectory(prefix="floyo-bench-")
comfy.output_dir = lambda: Path(_tmp.name)  # ComfyUI's folder_paths is not loaded in a bench


async def finished_run(client: FloyoClient) -> Run:
    """Create a run (the bench server finishes it at once) and wait for it like the node does."""
    handle = RunHandle(client, (await client.create_run({"1": {"class_type": "SaveImage", "inputs": {}}},
                                                         name="bench", marker="bench")).id)
    return await handle.wait()


async def pack(client: FloyoClient, run: Run) -> torch.Tensor:
    """The node's pipeline from "run is done" to the IMAGE tensor (files saved to a temp dir)."""
    handle = RunHandle(client, run.id)
    handle.run = run
    return (await collect.collect(handle, run, "pad to largest")).images


async def fetch_all(run: Run) -> list[bytes]:
    """Every output's bytes, all requests at once, nothing else."""
    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> bytes:
            async with session.get(url) as resp:
                return await resp.read()

        return list(await asyncio.gather(*(one(o.presigned_url) for o in run.outputs)))


def decode_all(blobs: list[bytes]) -> torch.Tensor:
    """Decode from memory straight into one preallocated float32 tensor on every core."""
    with Image.open(io.BytesIO(blobs[0])) as first:
        width, height = first.size
    images = torch.empty((len(blobs), height, width, 3), dtype=torch.float32)
    view = images.numpy()

    def one(index: int) -> None:
        with Image.open(io.BytesIO(blobs[index])) as img:
            np.divide(np.asarray(img.convert("RGB")), np.float32(255), out=view[index], dtype=np.float32,
                      casting="unsafe")

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(one, range(len(blobs))))
    return images


async def peer(run: Run) -> torch.Tensor:
    """Sequential downloads, then PIL -> numpy float -> list of [1,H,W,3] -> torch.cat."""
    blobs = []
    async with aiohttp.ClientSession() as session:
        for output in run.outputs:
            async with session.get(output.presigned_url) as resp:
                blobs.append(await resp.read())
    tensors = []
    for blob in blobs:
        img = Image.open(io.BytesIO(blob)).convert("RGB")
        tensors.append(torch.from_numpy(np.array(img).astype(np.float32) / 255.0)[None])
    return torch.cat(tensors, dim=0)
