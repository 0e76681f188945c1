"""DLPack and buffer-protocol exchange: round trips share memory (checked by writing through one view
and reading through the other), DLPack-only producers (strided) work as op inputs, capsules follow the
protocol, and memory stays alive as long as a view needs it."""
import gc

import numpy as np
import pytest

import axial
from conftest import reference_forward, rel_err


class DLPackOnly:
    """A producer that offers DLPack and nothing else (like a PyTorch or JAX CPU tensor)."""

    def __init__(self, array):
        self.array = array
        self.calls = 0

    @property
    def shape(self):
        return self.array.shape

    def __dlpack__(self, **kwargs):
        self.calls += 1
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_numpy_to_axial_to_numpy_shares_memory():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = axial.from_dlpack(a)
    assert t.shape == (2, 3, 4) and t.dtype == "float32" and t.device == ("cpu", 0)
    assert t.data_ptr == a.ctypes.data
    b = np.from_dlpack(t)
    writer = b if b.flags.writeable else t.numpy()  # NumPy < 2 makes DLPack imports read-only
    writer[1, 2, 3] = -7.0
    assert a[1, 2, 3] == -7.0 and b[1, 2, 3] == -7.0
    a[0, 0, 0] = 42.0
    assert b[0, 0, 0] == 42.0 and t.numpy()[0, 0, 0] == 42.0


def test_dlpack_only_producer_strided_view_shares_memory():
    base = np.zeros((4, 6), np.float32)
    view = base[:, ::2]  # strides (6, 2) elements
    t = axial.from_dlpack(DLPackOnly(view))
    assert t.shape == (4, 3) and t.strides == (6, 2)
    n = t.numpy()
    n[3, 2] = 5.0
    assert base[3, 4] == 5.0
    base[1, 2] = 9.0
    assert n[1, 1] == 9.0


def test_memory_outlives_the_producer():
    t = axial.from_dlpack(np.arange(1000, dtype=np.int64))
    gc.collect()
    view = np.from_dlpack(t)
    del t
    gc.collect()
    assert view.sum() == 999 * 1000 // 2


def test_capsules_legacy_and_versioned():
    t = axial.from_dlpack(np.ones(3, np.float32))
    assert '"dltensor"' in repr(t.__dlpack__())
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 0)))
    assert t.__dlpack_device__() == (1, 0)
    # An unconsumed capsule releases its reference when it is dropped (no leak, no crash).
    for _ in range(100):
        t.__dlpack__()
    with pytest.raises(BufferError):
        t.__dlpack__(copy=True)


def test_numpy_consumes_versioned_capsule_from_axial_tensor():
    a = np.arange(6, dtype=np.float16).reshape(2, 3)
    b = np.from_dlpack(axial.from_dlpack(a))
    assert b.dtype == np.float16 and np.shares_memory(a, b)


def test_bfloat16_round_trip_shares_memory():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.array([1.5, -2.25, 3.0], dtype=ml_dtypes.bfloat16)
    t = axial.from_dlpack(a)
    assert t.dtype == "bfloat16"
    n = t.numpy()
    assert n.dtype == a.dtype
    n[1] = 8.0
    assert float(a[1]) == 8.0
    # A plain uint16 array is not taken for bfloat16.
    with pytest.raises(axial.InvalidArgumentError, match="element format 'H'"):
        axial.from_dlpack(a.view(np.uint16))


def test_ops_accept_dlpack_only_inputs(rng):
    B, N, S, H, D = 1, 2, 16, 2, 8
    big = rng.standard_normal((B, N, S, H, 2 * D)).astype(np.float32)
    q = big[..., :D]
    k = rng.standard_normal((B, N, S, H, D)).astype(np.float32)
    v = rng.standard_normal((B, N, S, H, D)).astype(np.float32)
    bp = rng.standard_normal((B, 1, H, S, S)).astype(np.float32)
    wrapped = [DLPackOnly(x) for x in (q, k, v, bp)]
    out = axial.evoformer_attention(wrapped[0], wrapped[1], wrapped[2], None, wrapped[3])
    assert isinstance(out, np.ndarray)
    assert all(w.calls >= 1 for w in wrapped)
    assert rel_err(out, reference_forward(q, k, v, None, bp)[0]) < 2e-5


def test_axial_tensor_as_op_input_and_output(rng):
    q = rng.standard_normal((1, 1, 16, 1, 8)).astype(np.float32)
    tq = axial.from_dlpack(q)
    out = np.empty_like(q)
    axial.evoformer_attention(tq, tq, tq, out=axial.from_dlpack(out))
    assert rel_err(out, reference_forward(q, q, q)[0]) < 2e-5


def test_contiguous_inputs_are_not_copied(rng):
    """The op reads the caller's memory: writing into q between two calls changes the result, and the
    borrowed pointer is the array's own."""
    q = rng.standard_normal((1, 1, 16, 1, 8)).astype(np.float32)
    assert axial.from_dlpack(q).data_ptr == q.ctypes.data
    first = axial.evoformer_attention(q, q, q)
    q *= 2
    second = axial.evoformer_attention(q, q, q)
    assert rel_err(second, reference_forward(q, q, q)[0]) < 2e-5
    assert not np.allclose(first, second)


def test_buffer_without_strides_ctypes():
    """ctypes arrays export a buffer with no strides (C-contiguous implied): read as row-major."""
    import ctypes

    raw = (ctypes.c_float * 6)(*[float(i) for i in range(6)])
    t = axial.from_dlpack(raw)
    assert t.shape == (6,) and t.strides == (1,) and t.dtype == "float32"
    assert t.numpy().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    grid = ((ctypes.c_float * 3) * 2)()
    grid[1][2] = 5.0
    t2 = axial.from_dlpack(grid)
    assert t2.shape == (2, 3) and t2.strides == (3, 1) and t2.numpy()[1, 2] == 5.0


def test_read_only_memory_stays_read_only():
    """Memory the producer marked read-only is never handed back out as writable."""
    t = axial.from_dlpack(b"hello world!")
    view = t.numpy()
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = ord("J")
    a = np.arange(4, dtype=np.float32)
    a.flags.writeable = False
    ro = axial.from_dlpack(a)
    with pytest.raises(BufferError):
        ro.__dlpack__()  # a legacy capsule cannot say read-only
    capsule = ro.__dlpack__(max_version=(1, 0))
    assert capsule is not None
    if tuple(int(x) for x in np.__version__.split(".")[:2]) >= (2, 1):
        b = np.from_dlpack(ro)
        assert not b.flags.writeable and b.tolist() == [0.0, 1.0, 2.0, 3.0]
    w = axial.from_dlpack(np.arange(3, dtype=np.float32))
    assert w.numpy().flags.writeable


def test_read_only_tensor_is_an_input_not_an_output():
    # The op layer asks producers for DLPack >= 1.0, so a read-only axial.Tensor (a broadcast view)
    # can be read, and the read-only flag keeps it from being written.
    x = np.broadcast_to(np.linspace(-1, 1, 8, dtype=np.float32), (4, 8))
    t = axial.from_dlpack(x)
    got = axial.rms_norm(t, None)
    want = x / np.sqrt((x.astype(np.float64) ** 2).mean(axis=1, keepdims=True) + 1e-5)
    assert np.abs(np.asarray(got) - want).max() < 1e-6
    with pytest.raises(axial.InvalidArgumentError, match="read-only"):
        axial.rms_norm(np.ones((4, 8), np.float32), None, out=t)
