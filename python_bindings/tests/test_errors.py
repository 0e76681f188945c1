"""Errors: wrong shapes, dtypes and objects raise the matching AxialError subclass with the C
library's message and status; bad files raise FileError / FormatError; random input never crashes."""
import numpy as np
import pytest

import axial
import axial.io


def qkv(shape=(1, 2, 8, 2, 4), dtype=np.float32):
    rng = np.random.default_rng(3)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(3)]


def test_error_hierarchy():
    assert issubclass(axial.InvalidArgumentError, axial.AxialError)
    assert issubclass(axial.InvalidArgumentError, ValueError)
    assert issubclass(axial.FileError, OSError)
    assert issubclass(axial.OutOfMemoryError, MemoryError)
    assert issubclass(axial.UnsupportedError, NotImplementedError)


def test_drop_in_error_is_also_an_assertion_error():
    """DeepSpeed-era code catches AssertionError, Axial code InvalidArgumentError: one raise reaches both."""
    import pickle

    cls = axial.DS4SciInvalidArgumentError
    assert issubclass(cls, axial.InvalidArgumentError) and issubclass(cls, ValueError)
    assert issubclass(cls, AssertionError) and not issubclass(axial.InvalidArgumentError, AssertionError)
    e = pickle.loads(pickle.dumps(cls("biases: at most 2 (mask bias, pair bias), got 3", 1)))
    assert type(e) is cls and e.status_name == "AX_ERR_INVALID_ARGUMENT" and str(e).startswith("biases:")


def test_wrong_ndim_gives_c_message():
    q, k, v = qkv()
    with pytest.raises(axial.InvalidArgumentError) as e:
        axial.evoformer_attention(q[0], k, v)
    assert str(e.value) == "q: expected 5 dims (B, N, S, H, D), got 4"
    assert e.value.status == 1 and e.value.status_name == "AX_ERR_INVALID_ARGUMENT"


def test_mismatched_shape_names_the_tensor():
    q, k, v = qkv()
    with pytest.raises(axial.InvalidArgumentError, match=r"^k: "):
        axial.evoformer_attention(q, k[:, :, :5], v)
    with pytest.raises(axial.InvalidArgumentError, match=r"^bias_pair: "):
        axial.evoformer_attention(q, k, v, None, np.zeros((1, 1, 2, 8, 5), np.float32))
    with pytest.raises(axial.InvalidArgumentError, match=r"^bias_mask: "):
        axial.evoformer_attention(q, k, v, np.zeros((1, 2, 1, 1, 3), np.float32))


def test_float64_is_rejected_with_c_message():
    q, k, v = qkv(dtype=np.float64)
    with pytest.raises(axial.InvalidArgumentError) as e:
        axial.evoformer_attention(q, k, v)
    assert str(e.value) == "q: dtype is f64, expected f32, bf16 or f16"


def test_mixed_dtypes_are_rejected():
    q, k, v = qkv()
    with pytest.raises(axial.InvalidArgumentError, match=r"^k: "):
        axial.evoformer_attention(q, k.astype(np.float16), v)


def test_unsupported_element_types_name_the_argument():
    q, k, v = qkv()
    with pytest.raises(axial.InvalidArgumentError, match=r"^v: element format"):
        axial.evoformer_attention(q, k, v.astype(np.complex64))
    with pytest.raises(axial.InvalidArgumentError, match=r"^q: expected an array"):
        axial.evoformer_attention("not an array", k, v)
    with pytest.raises(axial.InvalidArgumentError, match=r"^k: expected an array"):
        axial.evoformer_attention(q, [1, 2, 3], v)


def test_read_only_output_is_rejected_and_untouched():
    q, k, v = qkv()
    out = np.zeros_like(q)
    out.flags.writeable = False
    with pytest.raises(axial.InvalidArgumentError, match=r"^out: not a writable array"):
        axial.evoformer_attention(q, k, v, out=out)
    assert (out == 0).all()


def test_overlapping_outputs_are_rejected():
    q, k, v = qkv()
    out, lse = axial.evoformer_attention(q, k, v, return_lse=True)
    dq = np.zeros_like(q)
    with pytest.raises(axial.InvalidArgumentError):
        axial.evoformer_attention_backward(q, k, v, None, None, out, lse, q, grads=(dq, dq, np.zeros_like(q), None, None))


def test_workspace_limit_gives_out_of_memory():
    q, k, v = qkv((1, 4, 64, 2, 16))
    bp = np.zeros((1, 1, 2, 64, 64), np.float32)
    out, lse = axial.evoformer_attention(q, k, v, None, bp, return_lse=True)
    ctx = axial.Context("cpu", workspace_limit=64)
    with pytest.raises(axial.OutOfMemoryError) as e:
        axial.evoformer_attention_backward(q, k, v, None, bp, out, lse, q, context=ctx)
    assert e.value.status == 3 and e.value.message


def test_context_device_id_and_threads_out_of_range():
    # a cast had run cuda:4294967296 on device 0 and 2**32 threads as 0 (every core)
    with pytest.raises(axial.InvalidArgumentError, match="num_threads"):
        axial.Context("cpu", num_threads=2**32)
    with pytest.raises(axial.InvalidArgumentError, match="device id"):
        axial.Context("cuda:4294967296")


def test_cuda_context_without_gpu_is_unsupported():
    if axial.info()["cuda_devices"]:
        pytest.skip("a CUDA device is present")
    with pytest.raises(axial.UnsupportedError) as e:
        axial.Context("cuda")
    assert e.value.status == 2 and "cuda" in e.value.message.lower()


def test_missing_file_is_file_error(tmp_path):
    with pytest.raises(axial.FileError) as e:
        axial.io.build_features(a3m=tmp_path / "missing.a3m")
    assert e.value.status == 4 and "missing.a3m" in str(e.value)


def test_malformed_a3m_is_format_error_with_line(tmp_path):
    path = tmp_path / "bad.a3m"
    path.write_text(">query\nACDEFG\n>hit\nACD\n")
    with pytest.raises(axial.FormatError) as e:
        axial.io.build_features(a3m=path)
    assert e.value.status == 5 and str(e.value).startswith(str(path) + ":")


def test_store_errors(tmp_path, data_dir):
    store = tmp_path / "s.h5"
    axial.io.build_features(a3m=data_dir / "query.a3m", store=store, name="q")
    with pytest.raises(axial.InvalidArgumentError):
        axial.io.read_chain(store, "nope")
    with pytest.raises(axial.InvalidArgumentError):
        axial.io.build_features(a3m=data_dir / "query.a3m", store=store, name="q")  # duplicate name
    with pytest.raises(axial.InvalidArgumentError):
        axial.io.build_features(a3m=data_dir / "query.a3m", store=store, name="bad name!")
    not_a_store = tmp_path / "x.h5"
    not_a_store.write_bytes(b"hello")
    with pytest.raises(axial.FormatError):
        axial.io.read_chain(not_a_store, "q")
    with pytest.raises(axial.InvalidArgumentError, match="no chain 'Z'"):
        axial.io.build_features(mmcif=data_dir / "1cbs.cif.gz", chain="Z")


def test_random_bytes_never_crash(tmp_path):
    rng = np.random.default_rng(7)
    for i in range(40):
        path = tmp_path / f"r{i}"
        body = rng.integers(0, 256, size=int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
        if i % 2:
            body = b">q\n" + bytes(c % 60 + 40 for c in body)
        path.write_bytes(body)
        for kind in ("a3m", "sto", "mmcif", "pdb", "fasta"):
            try:
                axial.io.build_features(**{kind: path})
            except axial.AxialError:
                pass


def test_random_shapes_never_crash():
    rng = np.random.default_rng(11)
    for _ in range(200):
        shapes = [tuple(int(x) for x in rng.integers(0, 4, size=int(rng.integers(0, 7)))) for _ in range(5)]
        arrays = [np.zeros(s, np.float32) for s in shapes]
        arrays[3] = None if rng.random() < 0.3 else arrays[3]
        arrays[4] = None if rng.random() < 0.3 else arrays[4]
        try:
            axial.evoformer_attention(*arrays, return_lse=True)
        except axial.AxialError:
            pass


def test_messages_with_cut_or_foreign_bytes_stay_errors(tmp_path):
    """A message quoting a non-UTF-8 header, or cut at its 1023 bytes inside a long non-ASCII path,
    raises the Axial error (had been a UnicodeDecodeError hiding it)."""
    path = tmp_path / "latin1.a3m"
    path.write_bytes(b">q\xe9\nAC#DE\n")
    with pytest.raises(axial.FormatError) as e:
        axial.io.build_features(a3m=path)
    assert "q\\xe9" in str(e.value) and str(e.value).startswith(str(path) + ":2:")
    for prefix in ("/", "//"):  # the cut falls after either byte of a character
        with pytest.raises(axial.FileError) as e:
            axial.io.build_features(a3m=prefix + "\u00e9" * 640)
        assert e.value.status == 4 and str(e.value).startswith(prefix + "\u00e9" * 100)
