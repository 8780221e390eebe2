"""Saved output files turned into ComfyUI values: IMAGE/MASK batches, VIDEO and AUDIO.

Reads files, never downloads or writes them, never talks to Floyo.
"""
