#!/usr/bin/env python3
"""Writes testdata/torch: small checkpoints in torch.save's zip layout, for
internal/weights' PyTorch reader, with the Python standard library only.

torch.save (PyTorch >= 1.6) pickles the object with protocol 2 and a
persistent_id that replaces each tensor storage by
('storage', torch.<Type>Storage, key, location, numel); tensors reduce to
torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, backward_hooks). The zip holds <stem>/data.pkl,
<stem>/byteorder, <stem>/data/<key> (stored, data 64-byte aligned),
<stem>/version and <stem>/.data/serialization_id. Here CPython's own
pickler writes the pickle, with stand-in modules named torch and
torch._utils, so the opcodes are the pickler's, not ours. (The reader was
also checked, outside the repository, against files torch itself wrote.)

Outputs:
  state.bin          a state dict (an OrderedDict with _metadata, as
                     module.state_dict() returns) of F32, F16, BF16 and I64
                     tensors, two views of one storage, a scalar, and enough
                     tensors that the memo needs LONG_BINPUT
  state.safetensors  the same tensors, the expected values
  fortran.bin        a column-major tensor (strides (1, 2)), refused

Run from the repository root: python3 scripts/torch-fixture.py
"""

import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

OUT = os.path.join("testdata", "torch")

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
torch._utils = utils
sys.modules["torch"], sys.modules["torch._utils"] = torch, utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in: never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2

DTYPES = {  # safetensors dtype -> (storage class, element size)
    "F32": ("FloatStorage", 4),
    "F16": ("HalfStorage", 2),
    "BF16": ("BFloat16Storage", 2),
    "I64": ("LongStorage", 8),
}
for cls, _ in DTYPES.values():
    c = type(cls, (), {})
    c.__module__ = "torch"
    setattr(torch, cls, c)


class Storage:
    def __init__(self, key, dtype, data):
        self.key, self.dtype, self.data = key, dtype, data
        self.numel = len(data) // DTYPES[dtype][1]


class Tensor:
    def __init__(self, storage, offset, size, stride=None):
        if stride is None:
            stride, n = [], 1
            for d in reversed(size):
                stride.insert(0, n)
                n *= d
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2,
                (self.storage, self.offset, self.size, tuple(self.stride), False, collections.OrderedDict()))

    def nbytes(self):
        n = 1
        for d in self.size:
            n *= d
        return n * DTYPES[self.storage.dtype][1]


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, DTYPES[obj.dtype][0]), obj.key, "cpu", obj.numel)
        return None


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


def f16(vals):
    return struct.pack("<%de" % len(vals), *vals)


def bf16(vals):
    return b"".join(struct.pack("<f", v)[2:] for v in vals)  # exact: values fit in bf16


def i64(vals):
    return struct.pack("<%dq" % len(vals), *vals)


def write_checkpoint(path, obj, storages):
    stem = os.path.splitext(os.path.basename(path))[0]
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(obj)
    with open(path, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
        def record(name, data):
            name = stem + "/" + name
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            start = fh.tell() + 30 + len(name) + 4
            pad = -start % 64
            info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            z.writestr(info, data)

        record("data.pkl", buf.getvalue())
        record("byteorder", b"little")
        for s in storages:
            record("data/" + s.key, s.data)
        record("version", b"3\n")
        record(".data/serialization_id", b"0" * 40)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        es = DTYPES[t.storage.dtype][1]
        data = t.storage.data[t.offset * es: t.offset * es + t.nbytes()]
        header[name] = {"dtype": t.storage.dtype, "shape": list(t.size), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    os.makedirs(OUT, exist_ok=True)
    storages = [
        Storage("0", "F32", f32([i * 0.5 - 1 for i in range(12)])),
        Storage("1", "F16", f16([0.25, -1.5, 3.0, 65504.0])),
        Storage("2", "BF16", bf16([1.0, -2.0, 0.5, 3.0, -0.125, 256.0])),
        Storage("3", "I64", i64([0, 1, 2, 3, 4])),
        Storage("4", "F32", f32([float(i) for i in range(12)])),
        Storage("5", "F32", f32([7.25])),
        Storage("6", "F32", f32([i / 8 for i in range(300)])),
    ]
    s = storages
    tensors = collections.OrderedDict()
    tensors["conv_in.weight"] = Tensor(s[0], 0, [3, 4])
    tensors["conv_in.bias"] = Tensor(s[1], 0, [4])
    tensors["norm.weight"] = Tensor(s[2], 0, [2, 3])
    tensors["text_model.embeddings.position_ids"] = Tensor(s[3], 0, [1, 5])
    tensors["shared.first"] = Tensor(s[4], 0, [2, 3])
    tensors["shared.second"] = Tensor(s[4], 6, [3, 2])
    tensors["scale"] = Tensor(s[5], 0, [])
    for i in range(300):  # more than 256 memo entries
        tensors["many.%d.weight" % i] = Tensor(s[6], i, [1])
    tensors._metadata = collections.OrderedDict([("", {"version": 1}), ("conv_in", {"version": 1})])
    write_checkpoint(os.path.join(OUT, "state.bin"), tensors, storages)
    write_safetensors(os.path.join(OUT, "state.safetensors"), tensors)

    col = Storage("0", "F32", f32([float(i) for i in range(6)]))
    write_checkpoint(os.path.join(OUT, "fortran.bin"),
                     collections.OrderedDict([("w", Tensor(col, 0, [2, 3], [1, 2]))]), [col])


if __name__ == "__main__":
    main()
