"""A small reader for TensorFlow "V2" checkpoints, so that no TensorFlow is needed at run time.

A V2 checkpoint ``<prefix>`` is a pair of files:

- ``<prefix>.index``: an immutable sorted string table (the LevelDB "SSTable" format that
  TensorFlow's ``tensorflow/core/lib/io/table`` writes) mapping each variable name to a serialized
  ``BundleEntryProto`` (dtype, shape, shard, byte offset, byte size, masked CRC32C);
- ``<prefix>.data-00000-of-0000N``: the raw little-endian tensor bytes.

Only what musicnn's checkpoints use is supported: uncompressed table blocks, unpartitioned
(unsliced) numeric tensors. Anything else raises :class:`~featurelab.exceptions.ModelFileError`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Container, Iterator
from pathlib import Path

import numpy as np

from ...exceptions import ModelFileError

__all__ = ["read_checkpoint", "checkpoint_variables"]

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48
_BLOCK_TRAILER_SIZE = 5  # 1 byte compression type + 4 bytes CRC
_CRC_MASK_DELTA = 0xA282EAD8

#: tensorflow DataType enum -> numpy little-endian dtype (the ones a float model can contain).
_DTYPES = {
    1: "<f4",  # DT_FLOAT
    2: "<f8",  # DT_DOUBLE
    3: "<i4",  # DT_INT32
    4: "u1",  # DT_UINT8
    5: "<i2",  # DT_INT16
    6: "i1",  # DT_INT8
    9: "<i8",  # DT_INT64
    10: "?",  # DT_BOOL
    19: "<f2",  # DT_HALF
}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _read_block(data: bytes, offset: int, size: int, name: str) -> bytes:
    end = offset + size
    if end + _BLOCK_TRAILER_SIZE > len(data):
        raise ModelFileError(f"{name}: a table block points past the end of the file.")
    compression = data[end]
    if compression != 0:
        raise ModelFileError(f"{name}: compressed table blocks (type {compression}) are not supported.")
    return data[offset:end]


def _block_entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(key, value)`` of a table block (prefix-compressed keys, then restart offsets)."""
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * n_restarts
    pos = 0
    key = b""
    while pos < limit:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + value_len]
        pos += value_len


def _table_entries(data: bytes, name: str) -> Iterator[tuple[bytes, bytes]]:
    if len(data) < _FOOTER_SIZE:
        raise ModelFileError(f"{name}: file too short to be a checkpoint index.")
    footer = data[-_FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, _FOOTER_SIZE - 8)
    if magic != _TABLE_MAGIC:
        raise ModelFileError(f"{name}: not a TensorFlow checkpoint index (bad magic number).")
    pos = 0
    _, pos = _varint(footer, pos)  # metaindex offset (unused)
    _, pos = _varint(footer, pos)  # metaindex size
    index_offset, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    index_block = _read_block(data, index_offset, index_size, name)
    for _, handle in _block_entries(index_block):
        offset, hpos = _varint(handle, 0)
        size, _ = _varint(handle, hpos)
        yield from _block_entries(_read_block(data, offset, size, name))


def _parse_entry(value: bytes) -> dict:
    """Decode the fields of a ``BundleEntryProto`` that matter here."""
    entry = {"dtype": 0, "shape": [], "shard_id": 0, "offset": 0, "size": 0, "crc32c": None, "sliced": False}
    pos = 0
    while pos < len(value):
        tag, pos = _varint(value, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            number, pos = _varint(value, pos)
            key = {1: "dtype", 3: "shard_id", 4: "offset", 5: "size"}.get(field)
            if key:
                entry[key] = number
        elif wire == 5:
            (number,) = struct.unpack_from("<I", value, pos)
            pos += 4
            if field == 6:
                entry["crc32c"] = number
        elif wire == 2:
            length, pos = _varint(value, pos)
            payload = value[pos : pos + length]
            pos += length
            if field == 2:
                entry["shape"] = _parse_shape(payload)
            elif field == 7:
                entry["sliced"] = True
        elif wire == 1:
            pos += 8
        else:
            raise ModelFileError(f"Unexpected protobuf wire type {wire} in a checkpoint entry.")
    return entry


def _parse_shape(payload: bytes) -> list[int]:
    """Decode a ``TensorShapeProto`` (repeated ``Dim {int64 size = 1}`` in field 2)."""
    dims = []
    pos = 0
    while pos < len(payload):
        tag, pos = _varint(payload, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 2:
            length, pos = _varint(payload, pos)
            if field == 2:
                dim = payload[pos : pos + length]
                size, dpos = 0, 0
                while dpos < len(dim):
                    dtag, dpos = _varint(dim, dpos)
                    if dtag >> 3 == 1 and dtag & 7 == 0:
                        size, dpos = _varint(dim, dpos)
                    elif dtag & 7 == 2:
                        dlen, dpos = _varint(dim, dpos)
                        dpos += dlen
                    else:
                        _, dpos = _varint(dim, dpos)
                dims.append(size)
            pos += length
        else:
            _, pos = _varint(payload, pos)
    return dims


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


def _masked_crc32c(data: bytes) -> int:
    table = _crc32c_table()
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def _index_path(prefix: str | os.PathLike) -> Path:
    return Path(str(prefix) + ".index")


def checkpoint_variables(prefix: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], str]]:
    """List the variables of a checkpoint without reading their values.

    Parameters
    ----------
    prefix : str or path
        The checkpoint prefix: the index file is ``prefix + ".index"``. For a checkpoint saved
        into a folder with an empty basename (as musicnn's are) pass ``"<folder>/"``.

    Returns
    -------
    variables : dict
        ``name -> (shape, numpy dtype string)``.
    """
    index = _index_path(prefix)
    data = _read_bytes(index)
    out = {}
    for key, value in _table_entries(data, str(index)):
        if not key:  # the BundleHeaderProto
            continue
        entry = _parse_entry(value)
        out[key.decode()] = (tuple(entry["shape"]), _DTYPES.get(entry["dtype"], "?unsupported"))
    return out


def read_checkpoint(
    prefix: str | os.PathLike,
    names: Container[str] | None = None,
    *,
    verify: bool = True,
) -> dict[str, np.ndarray]:
    """Read tensors from a TensorFlow V2 checkpoint with numpy only.

    Parameters
    ----------
    prefix : str or path
        The checkpoint prefix (see :func:`checkpoint_variables`).
    names : container of str or None
        Variables to read; ``None`` reads all of them.
    verify : bool
        Check each tensor's CRC32C against the index (slow-ish pure Python, about 1 s per
        million parameters; done once when the weights are converted).

    Returns
    -------
    tensors : dict of str to np.ndarray
        Native-endian arrays with the stored shapes.

    Raises
    ------
    ModelFileError
        If a file is missing, truncated, corrupt or uses an unsupported feature.
    """
    index = _index_path(prefix)
    index_data = _read_bytes(index)
    shards: dict[int, bytes] = {}
    tensors = {}
    n_shards = None
    for key, value in _table_entries(index_data, str(index)):
        if not key:
            n_shards = _parse_header_shards(value)
            continue
        name = key.decode()
        if names is not None and name not in names:
            continue
        entry = _parse_entry(value)
        if entry["sliced"]:
            raise ModelFileError(f"{index}: partitioned variable {name!r} is not supported.")
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ModelFileError(f"{index}: variable {name!r} has unsupported dtype {entry['dtype']}.")
        shard = entry["shard_id"]
        if shard not in shards:
            total = n_shards or 1
            path = Path(f"{prefix}.data-{shard:05d}-of-{total:05d}")
            shards[shard] = _read_bytes(path)
        blob = shards[shard][entry["offset"] : entry["offset"] + entry["size"]]
        if len(blob) != entry["size"]:
            raise ModelFileError(f"{index}: data for {name!r} is truncated.")
        if verify and entry["crc32c"] is not None and _masked_crc32c(blob) != entry["crc32c"]:
            raise ModelFileError(f"{index}: checksum mismatch for {name!r}; the file is corrupt.")
        array = np.frombuffer(blob, dtype=dtype)
        tensors[name] = array.astype(array.dtype.newbyteorder("="), copy=True).reshape(entry["shape"])
    return tensors


def _parse_header_shards(value: bytes) -> int:
    pos = 0
    while pos < len(value):
        tag, pos = _varint(value, pos)
        if tag & 7 == 0:
            number, pos = _varint(value, pos)
            if tag >> 3 == 1:
                return number
        elif tag & 7 == 2:
            length, pos = _varint(value, pos)
            pos += length
        else:
            break
    return 1


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"Cannot read checkpoint file {path}: {exc.strerror}.") from exc
