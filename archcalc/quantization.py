"""Quantised checkpoints: the tensors a ``quantization_config`` says a checkpoint holds.

A quantised checkpoint stores some parameters in a packed form, with scales beside them
that are quantisation data, not parameters. Two layouts are recognised, each only when
the config.json declares it (``quantization_config.quant_method``), never guessed from
the names:

* ``fp8`` (DeepSeek-V3, ``weight_block_size`` [128, 128]): a quantised linear weight is
  stored in F8_E4M3 under its own name and shape, and ``…weight_scale_inv`` beside it
  holds one F32 inverse scale per block: (ceil(out / 128), ceil(in / 128)).
* ``mxfp4`` (gpt-oss): an expert projection ``P`` (E, out, in), as transformers holds it
  transposed (E, in, out), is stored as ``P_blocks`` (U8 (E, out, in / 32, 16): two 4-bit
  values a byte, 32 a block) and ``P_scales`` (U8 (E, out, in / 32): one exponent a block).

:func:`unpack` turns a checkpoint's tensors into what the spec is compared with: the
packed weights as the logical tensors they hold (an MXFP4 ``P`` of 4-bit elements, so its
bytes stay the file's), the scales set apart, and a problem for each scale whose shape
does not fit its weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archcalc.checkpoint import StoredTensor
from archcalc.errors import safe

__all__ = ["Quantization", "Unpacked", "quantization_of", "unpack"]

#: MXFP4: elements per block, and per byte.
_BLOCK, _PER_BYTE = 32, 2
_FP8_SCALE = "_scale_inv"


@dataclass(frozen=True)
class Quantization:
    """A checkpoint's declared quantisation (what config.json's quantization_config says)."""

    method: str
    #: FP8's weight_block_size (rows, columns of a block); None: one scale per tensor.
    block: tuple[int, int] | None = None

    def describe(self) -> str:
        if self.block is None:
            return f"quant_method {self.method}"
        return f"quant_method {self.method}, weight_block_size {list(self.block)}"


def quantization_of(config: Mapping[str, Any] | None) -> Quantization | None:
    """The quantisation a config.json declares, if it is one archcalc recognises."""
    value = config.get("quantization_config") if config is not None else None
    if not isinstance(value, Mapping):
        return None
    method = value.get("quant_method")
    if method == "mxfp4":
        return Quantization("mxfp4")
    if method != "fp8":
        return None
    block = value.get("weight_block_size")
    if block is None:
        return Quantization("fp8")
    if (
        isinstance(block, list)
        and len(block) == 2
        and all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in block)
    ):
        return Quantization("fp8", (block[0], block[1]))
    return None  # a block size archcalc cannot read: nothing is recognised


@dataclass(frozen=True)
class Unpacked:
    """A checkpoint's tensors (by stripped name) with the quantisation data set apart."""

    tensors: dict[str, StoredTensor]
    #: The scales: quantisation data, not parameters.
    scales: list[StoredTensor]
    #: A scale whose shape does not fit its weight, one line each.
    problems: list[str]


def _fp8_scale_shape(weight: tuple[int, ...], block: tuple[int, int] | None) -> tuple[int, ...]:
    if block is None or len(weight) < 2:
        return ()
    *lead, rows, cols = weight
    return (*lead, -(-rows // block[0]), -(-cols // block[1]))


def unpack(stored: Mapping[str, StoredTensor], quantization: Quantization) -> Unpacked:
    """``stored`` (stripped name -> tensor) as the logical tensors it holds."""
    tensors = dict(stored)
    scales: list[StoredTensor] = []
    problems: list[str] = []
    if quantization.method == "fp8":
        for key, scale in stored.items():
            weight = stored.get(key.removesuffix(_FP8_SCALE))
            if weight is None or not key.endswith(f".weight{_FP8_SCALE}"):
                continue
            scales.append(tensors.pop(key))
            want = _fp8_scale_shape(weight.shape, quantization.block)
            if quantization.block is not None and scale.shape != want:
                problems.append(
                    f"{safe(scale.name)} has shape {list(scale.shape)}; the FP8 scales of a "
                    f"{list(weight.shape)} weight in {list(quantization.block)} blocks are "
                    f"{list(want)}"
                )
        return Unpacked(tensors, scales, problems)
    for key, blocks in stored.items():
        head = key.removesuffix("_blocks")
        exponents = stored.get(f"{head}_scales")
        if head == key or exponents is None or head in stored or len(blocks.shape) < 3:
            continue
        *lead, out, groups, packed = blocks.shape
        scales.append(tensors.pop(f"{head}_scales"))
        del tensors[key]
        width = groups * packed * _PER_BYTE
        # the logical tensor, (…, in, out) as transformers holds it, of 4-bit elements
        name = blocks.name.removesuffix("_blocks")
        tensors[head] = StoredTensor(name, "F4", (*lead, width, out), blocks.file)
        if packed * _PER_BYTE != _BLOCK or exponents.shape != (*lead, out, groups):
            problems.append(
                f"{safe(blocks.name)} {list(blocks.shape)} and {safe(exponents.name)} "
                f"{list(exponents.shape)} are not MXFP4 blocks of {_BLOCK} and their scales "
                f"(…, out, in / {_BLOCK}, {_BLOCK // _PER_BYTE}) and (…, out, in / {_BLOCK})"
            )
    return Unpacked(tensors, scales, problems)
