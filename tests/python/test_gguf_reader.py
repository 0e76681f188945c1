# Axial's GGUF reader (src/io/gguf.c, through `axial gguf show --json`) against the `gguf` package's
# GGUFReader: every key, type and value, and every tensor's name, type, dims, offset, size and the
# sha256 of its bytes, on the real SmolLM2 file and on files the package's GGUFWriter makes with every
# value type and every GGML tensor type. Plus the command's exit codes and error messages.
#
# Run by tests/python/run_gguf_reader.sh, which sets AXIAL_CLI and AXIAL_MODEL (empty: no model).
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
import hashlib
import json
import math
import os
import subprocess

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType as QT  # noqa: E402
from gguf import GGUFValueType as VT  # noqa: E402

CLI = os.environ.get("AXIAL_CLI", "")
MODEL = os.environ.get("AXIAL_MODEL", "")

# ggml.c's block_q8_1 holds two fp16 and 32 int8 (36 bytes); the package's table says 40, so a file
# it writes with Q8_1 is not one GGML would write. Axial follows ggml.c.
SKIP_TYPES = {QT.Q8_1}


def axial_json(path):
    r = subprocess.run([CLI, "gguf", "show", "--json", str(path)], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout.decode("utf-8", "surrogateescape"))


def axial_bytes(s):
    """Axial writes bytes that are not UTF-8 as \\udcXX; this recovers them exactly."""
    return s.encode("utf-8", "surrogateescape")


def reference_value(field):
    """(type name, value, elem type name, count) of a GGUFReader field, strings as bytes."""
    main = field.types[0]
    if main == VT.STRING:
        return "string", bytes(field.parts[field.data[0]]), None, None
    if main != VT.ARRAY:
        return main.name.lower(), field.parts[field.data[0]].tolist()[0], None, None
    elem = field.types[1]
    count = int(field.parts[4][0])  # the array header: key len, key, type, elem type, count
    if elem == VT.ARRAY:
        return "array", None, "array", count
    if elem == VT.STRING:
        return "array", [bytes(field.parts[i]) for i in field.data], "string", count
    return "array", [field.parts[i].tolist()[0] for i in field.data], elem.name.lower(), count


def same_number(a, b):
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    if isinstance(b, bool) or isinstance(a, bool):
        return bool(a) == bool(b)
    return a == b


def compare(path):
    """Every key and tensor of `path`, as Axial reads it, equals what GGUFReader reads."""
    ax = axial_json(path)
    ref = gguf.GGUFReader(str(path))
    raw = np.memmap(str(path), dtype=np.uint8, mode="r")
    assert ax["alignment"] == ref.alignment
    assert ax["data_offset"] == ref.data_offset
    assert ax["file_size"] == raw.size
    ref_fields = [f for f in ref.fields.values() if not f.name.startswith("GGUF.")]
    assert [m["key"] for m in ax["metadata"]] == [f.name for f in ref_fields]
    assert ax["version"] == int(ref.fields["GGUF.version"].parts[0][0])
    for m, f in zip(ax["metadata"], ref_fields):
        rtype, rvalue, relem, rcount = reference_value(f)
        assert m["type"] == rtype, m["key"]
        if rtype == "string":
            assert axial_bytes(m["value"]) == rvalue, m["key"]
        elif rtype == "array":
            assert m["elem_type"] == relem, m["key"]
            assert m["count"] == rcount, m["key"]
            if relem == "array":
                assert m["value"] is None
            elif relem == "string":
                assert [axial_bytes(s) for s in m["value"]] == rvalue, m["key"]
            else:
                assert len(m["value"]) == len(rvalue)
                assert all(same_number(a, b) for a, b in zip(m["value"], rvalue)), m["key"]
        else:
            assert same_number(m["value"], rvalue), (m["key"], m["value"], rvalue)
    assert len(ax["tensors"]) == len(ref.tensors)
    for t, r in zip(ax["tensors"], ref.tensors):
        assert t["name"] == r.name
        assert t["ggml_type"] == int(r.tensor_type)
        assert t["type"] == r.tensor_type.name.lower()
        assert t["ne"] == [int(x) for x in r.shape]
        assert t["shape"] == t["ne"][::-1]
        assert ax["data_offset"] + t["offset"] == r.data_offset, r.name
        assert t["bytes"] == r.n_bytes, r.name
        start = ax["data_offset"] + t["offset"]
        mine = hashlib.sha256(raw[start:start + t["bytes"]].tobytes()).hexdigest()
        theirs = hashlib.sha256(np.ascontiguousarray(r.data).view(np.uint8).tobytes()).hexdigest()
        assert mine == theirs, r.name
    assert ax["tensor_bytes"] == sum(t["bytes"] for t in ax["tensors"])
    return ax


needs_cli = pytest.mark.skipif(not CLI, reason="AXIAL_CLI is not set (run through run_gguf_reader.sh)")


@needs_cli
@pytest.mark.skipif(not MODEL and os.environ.get("AXIAL_TEST_NO_PARTIAL_SKIPS") != "1",
                    reason="no model file (scripts/fetch-model.sh)")
def test_model_matches_gguf_package():
    # scripts/test.sh fetches the model: there, its absence fails this test instead of skipping it
    assert MODEL, "no model file (scripts/fetch-model.sh; AXIAL_ALLOW_SKIPS=1 skips)"
    ax = compare(MODEL)
    assert len(ax["tensors"]) == 272
    by_name = {t["name"]: t for t in ax["tensors"]}
    assert by_name["token_embd.weight"]["shape"] == [49152, 576]
    assert by_name["token_embd.weight"]["dtype"] == "q8_0"
    assert by_name["blk.0.attn_q.weight"]["dtype"] == "q4_1"
    # The text form's total agrees with the package's sizes.
    r = subprocess.run([CLI, "gguf", "show", MODEL], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    total = sum(int(t.n_bytes) for t in gguf.GGUFReader(MODEL).tensors)
    assert r.stdout.splitlines()[-1] == f"total: 272 tensors, {total} bytes of tensor data"
    assert "  llama.block_count: uint32 = 30" in r.stdout.splitlines()


def write_every_type(path, alignment):
    w = gguf.GGUFWriter(str(path), arch="test")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_key_value("v.u8", 255, VT.UINT8)
    w.add_key_value("v.i8", -128, VT.INT8)
    w.add_key_value("v.u16", 65535, VT.UINT16)
    w.add_key_value("v.i16", -32768, VT.INT16)
    w.add_key_value("v.u32", 2**32 - 1, VT.UINT32)
    w.add_key_value("v.i32", -(2**31), VT.INT32)
    w.add_key_value("v.u64", 2**64 - 1, VT.UINT64)
    w.add_key_value("v.i64", -(2**63), VT.INT64)
    w.add_key_value("v.f32", 0.1, VT.FLOAT32)
    w.add_key_value("v.f32_nan", float("nan"), VT.FLOAT32)
    w.add_key_value("v.f64", -1e300, VT.FLOAT64)
    w.add_key_value("v.f64_inf", float("inf"), VT.FLOAT64)
    w.add_key_value("v.bool", True, VT.BOOL)
    w.add_key_value("v.str", 'quote " back \\ tab \t nl \n ctl \x01 é 漢 🙂', VT.STRING)
    w.add_key_value("v.bytes", b"\xff\xfe not utf-8 \xc0\xaf \xed\xa0\x80", VT.STRING)
    w.add_key_value("v.empty", "", VT.STRING)
    for vt, vals in [(VT.UINT8, [0, 255]), (VT.INT8, [-1, 1]), (VT.UINT16, [7]), (VT.INT16, [-7, 7]),
                     (VT.UINT32, [1, 2, 3]), (VT.INT32, [-(2**31), 2**31 - 1]), (VT.UINT64, [2**64 - 1, 0]),
                     (VT.INT64, [-(2**63)]), (VT.FLOAT32, [1.5, -0.0]), (VT.FLOAT64, [math.pi]),
                     (VT.BOOL, [True, False, True]), (VT.STRING, ["a", "", "Ġt", b"\x80"])]:
        w.add_key_value("a." + vt.name.lower(), vals, VT.ARRAY, sub_type=vt)
    w.add_key_value("a.nested", [[1, 2], [3]], VT.ARRAY, sub_type=VT.ARRAY)
    rng = np.random.default_rng(7)
    for qt, (block, nbytes) in gguf.GGML_QUANT_SIZES.items():
        if qt in SKIP_TYPES:
            continue
        data = rng.integers(0, 256, size=(3, 2 * nbytes), dtype=np.uint8)
        w.add_tensor(f"t.{qt.name.lower()}", data, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@needs_cli
@pytest.mark.parametrize("alignment", [0, 64])
def test_every_type_matches_gguf_package(tmp_path, alignment):
    path = tmp_path / "types.gguf"
    write_every_type(path, alignment)
    ax = compare(path)
    assert ax["alignment"] == (alignment or 32)
    by_key = {m["key"]: m for m in ax["metadata"]}
    assert by_key["v.u64"]["value"] == 2**64 - 1
    assert math.isnan(by_key["v.f32_nan"]["value"])
    assert by_key["v.f64_inf"]["value"] == math.inf
    assert axial_bytes(by_key["v.bytes"]["value"]) == b"\xff\xfe not utf-8 \xc0\xaf \xed\xa0\x80"
    names = {t["name"]: t for t in ax["tensors"]}
    # Every GGML type the package knows (but Q8_1) is sized as the package sizes it.
    for qt, (block, nbytes) in gguf.GGML_QUANT_SIZES.items():
        if qt in SKIP_TYPES:
            continue
        t = names[f"t.{qt.name.lower()}"]
        assert t["ne"] == [2 * block, 3]
        assert t["bytes"] == 6 * nbytes
    mapped = {n for n, t in names.items() if t["dtype"] is not None}
    assert mapped == {"t." + s for s in ["f32", "f16", "bf16", "f64", "i8", "i32", "i64",
                                          "q4_0", "q4_1", "q8_0", "q4_k", "q6_k"]}


def run_cli(*args):
    return subprocess.run([CLI, "gguf", *args], capture_output=True, text=True, errors="replace")


@needs_cli
def test_cli_errors(tmp_path):
    missing = tmp_path / "missing.gguf"
    r = run_cli("show", str(missing))
    assert r.returncode == 1
    assert str(missing) in r.stderr and "cannot open" in r.stderr
    notgguf = tmp_path / "not.gguf"
    notgguf.write_bytes(b"GGML" + bytes(60))
    r = run_cli("show", str(notgguf))
    assert r.returncode == 1
    assert f"{notgguf}: byte 0: bad magic" in r.stderr
    truncated = tmp_path / "cut.gguf"
    write_every_type(tmp_path / "full.gguf", 0)
    full = axial_json(tmp_path / "full.gguf")
    end = full["data_offset"] + full["tensors"][-1]["offset"] + full["tensors"][-1]["bytes"]
    truncated.write_bytes((tmp_path / "full.gguf").read_bytes()[:end - 1])  # the last byte of data gone
    r = run_cli("show", "--json", str(truncated))
    assert r.returncode == 1 and r.stdout == ""
    assert "runs past the end of the file" in r.stderr
    assert run_cli().returncode == 2
    assert run_cli("show").returncode == 2
    assert run_cli("show", "a", "b").returncode == 2
    assert run_cli("show", "--bogus", "a").returncode == 2
    r = run_cli("--help")
    assert r.returncode == 0 and "axial gguf show" in r.stdout


@needs_cli
def test_cli_text(tmp_path):
    path = tmp_path / "types.gguf"
    write_every_type(path, 0)
    r = run_cli("show", str(path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{path}: GGUF version 3, alignment 32")
    assert "  v.i64: int64 = -9223372036854775808" in lines
    assert "  v.u64: uint64 = 18446744073709551615" in lines
    assert "  a.bool: array[bool] of 3 = [true, false, true]" in lines
    assert "  a.nested: array[array] of 2" in lines
    assert any(line.startswith("  t.q4_1 q4_1 ne=(64, 3) shape=(3, 64) offset=") for line in lines)
    assert lines[-1].startswith(f"total: {len(gguf.GGML_QUANT_SIZES) - len(SKIP_TYPES)} tensors")
    # Long strings are cut at 200 bytes, long arrays at 8 elements.
    w = gguf.GGUFWriter(str(tmp_path / "long.gguf"), arch="x")
    w.add_key_value("long", "x" * 500, VT.STRING)
    w.add_key_value("many", list(range(20)), VT.ARRAY, sub_type=VT.INT32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    out = run_cli("show", str(tmp_path / "long.gguf")).stdout
    assert f'  long: string = "{"x" * 200}"...' in out.splitlines()
    assert "  many: array[int32] of 20 = [0, 1, 2, 3, 4, 5, 6, 7, ...]" in out.splitlines()
