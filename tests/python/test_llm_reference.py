"""The LLM runner (include/axial/llm.h, `axial generate`) judged by an independent float64 NumPy Llama
decoder (tests/python/llm_reference.py) over weights dequantized by the `gguf` package.

Axial is driven through tests/llm_helper.c (logits of every position as raw f32; greedy ids) and the
`axial` program. ctest runs this file through tests/python/run_llm.sh, which sets AXIAL_LLM_MODEL
(the SmolLM2-135M-Instruct Q4_1 file of scripts/fetch-model.sh), AXIAL_LLM_HELPER and AXIAL_CLI.

Two models:
  * the real one. Its matrices are Q4_1 / Q8_0, and ax_qmatmul multiplies them with activations
    quantized to int8 in groups of up to 256 (linalg.h), so Axial's logits are those of a slightly
    perturbed network: measured max |diff| 1.8-2.6 and RMS 0.33 over a 16-token prompt (logits span
    about -23 .. 35), whether the prompt is fed at once, in chunks of 5 or token by token. The
    float64 reference with the activations quantized the way linalg.h describes
    (llm_reference.quantize_rows) differs from the exact one by as much (max 2.8, RMS 0.38), so this
    is the quantization's noise, not a fault of the forward: the checks there are top-1 agreement
    wherever the reference's top-two gap is >= 0.5 and bounds with margin on that noise (max 4.0,
    RMS 0.6). That reference does not track Axial over 30 blocks (a level that rounds the other
    way under fp32 versus float64 arithmetic, multiplied by the blocks after it: 0.2 apart after
    two blocks, 1.8 after 30), but over one block it does: the real model's first block and head,
    their blocks copied byte for byte, agree with it to 1e-3 (measured 3.1e-5) where the exact
    reference is 0.97 away. That ties the real model's 2.6 to the quantization linalg.h documents;
  * a derived model, written by this test with gguf.GGUFWriter: the first two blocks of the real
    one with every matrix stored as f16 (exactly the dequantized values rounded once; the reference
    reads the same file), and an untied output.weight (token_embd's rows reversed). ax_qmatmul
    keeps the activations in fp32 for f16 weights, so the whole forward is fp32 against float64 and
    must agree to 5e-4 (measured 3.2e-5 with logits up to 74, i.e. a few fp32 roundings of the
    largest values; the bound leaves a factor 15 for other CPU paths and thread counts): a check of
    the forward itself (RoPE layout, GQA grouping, cache, chunking, the untied head).
"""
import atexit
import functools
import itertools
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
pytest.importorskip("jinja2")  # render_chat (llm_reference.py) needs it
pytest.importorskip("tokenizers")  # the reference's tokenizer (llm_reference.py hf_tokenizer)
sys.path.insert(0, os.path.dirname(__file__))
from llm_reference import Llama, render_chat, top_two_gap, write_gguf  # noqa: E402

MODEL = os.environ.get("AXIAL_LLM_MODEL")
HELPER = os.environ.get("AXIAL_LLM_HELPER")
AXIAL = os.environ.get("AXIAL_CLI")
if not (MODEL and HELPER and AXIAL):
    pytest.skip("AXIAL_LLM_MODEL, AXIAL_LLM_HELPER and AXIAL_CLI are not set (ctest's test_llm_reference sets them)",
                allow_module_level=True)

# A greedy step is only a fair test where the reference's best token leads the second by a clear
# margin: the quantized forward moves single logits by up to ~2.6 but the gap between the top two by
# much less. The prompts below were chosen for margins >= 1.0 at every step, and the test asserts it,
# so a near-tie shows up as a bad prompt rather than a flaky failure.
GREEDY_MIN_GAP = 1.0
GREEDY_NEW = 20
GREEDY_PROMPTS = [("raw", "1, 2, 3, 4, 5, 6, 7, 8,"), ("raw", "10, 20, 30, 40, 50,"), ("chat", "Count from 1 to 10.")]
LOGIT_TEXT = "The capital of France is Paris. The capital of Germany is Berlin. The capital of Italy is"

# The derived model files (one per cached variant, ~124 MB each) live here and go at exit.
_TMP = tempfile.mkdtemp(prefix="axial-llm-ref-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
_SERIAL = itertools.count()


@functools.lru_cache(maxsize=None)
def reference():
    return Llama(MODEL)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=600, **kw)


def axial_tokenize(text, model=MODEL):
    r = run([AXIAL, "tokenize", "--model", model, text], text=True)
    assert r.returncode == 0, r.stderr
    return [int(t) for t in r.stdout.split()]


def prompt_ids(kind, text):
    """The reference's prompt: tokenized by Hugging Face's tokenizers (llm_reference), not by Axial;
    Axial's own tokenization of it must agree."""
    if kind == "chat":
        text = render_chat(reference().chat_template, text)
    ids = reference().tokenize(text)
    assert axial_tokenize(text) == ids
    return ids


def axial_logits(model, ids, n_batch):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "logits.f32")
        r = run([HELPER, "logits", model, out, str(n_batch)] + [str(i) for i in ids], text=True)
        assert r.returncode == 0, r.stderr
        return np.fromfile(out, np.float32).reshape(len(ids), -1).astype(np.float64)


# ---- the real model ----------------------------------------------------------------------------

@pytest.mark.parametrize("n_batch", [512, 5, 1])
def test_logits_real_model(n_batch):
    ids = prompt_ids("raw", LOGIT_TEXT)[:16]
    assert len(ids) == 16
    ref = reference().forward(ids, reference().new_cache())
    got = axial_logits(MODEL, ids, n_batch)
    assert got.shape == ref.shape
    diff = np.abs(got - ref)
    clear = top_two_gap(ref) >= 0.5
    assert clear.sum() >= 8, "the prompt should have clear top-1 tokens at most positions"
    np.testing.assert_array_equal(got.argmax(axis=1)[clear], ref.argmax(axis=1)[clear])
    assert diff.max() <= 4.0, f"max |diff| {diff.max():.3f}"
    assert np.sqrt(np.mean(diff ** 2)) <= 0.6, f"RMS diff {np.sqrt(np.mean(diff ** 2)):.3f}"


@functools.lru_cache(maxsize=None)
def reference_greedy(kind, text):
    ids = prompt_ids(kind, text)
    out, gaps = reference().greedy(ids, GREEDY_NEW)
    return ids, out, gaps


@pytest.mark.parametrize("kind,text", GREEDY_PROMPTS)
def test_greedy_real_model(kind, text):
    ids, want, gaps = reference_greedy(kind, text)
    assert min(gaps) >= GREEDY_MIN_GAP, f"bad prompt: the reference's top-two gaps {np.round(gaps, 2)} include a near-tie"
    r = run([HELPER, "greedy", MODEL, str(GREEDY_NEW)] + [str(i) for i in ids], text=True)
    assert r.returncode == 0, r.stderr
    assert [int(t) for t in r.stdout.split()] == want


def expected_text(want):
    m = reference()
    end = next((i for i, t in enumerate(want) if m.is_end(t)), len(want))
    return m.decode(want[:end])


@pytest.mark.parametrize("kind,text", [GREEDY_PROMPTS[0], GREEDY_PROMPTS[2]])
def test_generate_greedy_text(kind, text):
    _, want, _ = reference_greedy(kind, text)
    args = [AXIAL, "generate", "--model", MODEL, "--prompt", text, "--temperature", "0",
            "--max-tokens", str(GREEDY_NEW)] + (["--chat"] if kind == "chat" else [])
    r = run(args)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert r.stdout == expected_text(want) + b"\n"
    assert b"prompt: " in r.stderr and b"generation: " in r.stderr


def test_generate_seed_reproducible():
    # One thread: with two, decoding slows badly when another process holds the second core (the
    # ops' OpenMP barriers), and the text is the same for every thread count anyway.
    args = [AXIAL, "generate", "--model", MODEL, "--prompt", "Once upon a time", "--temperature", "0.8",
            "--seed", "1234", "--max-tokens", "24", "--threads", "1"]
    first, second = run(args), run(args)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert len(first.stdout.strip()) > 0
    assert first.stdout == second.stdout


@functools.lru_cache(maxsize=None)
def one_quantized_block():
    """The real model cut to its first block: every tensor copied byte for byte (Q4_1 / Q8_0 blocks
    as they are), block_count 1. Returns (path, exact reference, activation-quantized reference)."""
    path = os.path.join(_TMP, "one-block-q.gguf")
    reader = gguf.GGUFReader(MODEL)
    tensors = {}
    for t in reader.tensors:
        if t.name.startswith("blk.") and int(t.name.split(".")[1]) >= 1:
            continue
        quantized = t.tensor_type != gguf.GGMLQuantizationType.F32
        tensors[t.name] = (np.asarray(t.data), t.tensor_type) if quantized else np.asarray(t.data, np.float32)
    kv = {"llama.block_count": (1, gguf.GGUFValueType.UINT32)}
    write_gguf(path, "llama", kv, tensors, reader, skip=tuple(kv))
    return path, Llama(path), Llama(path, quantize_activations=True)


@pytest.mark.parametrize("n_batch", [512, 5, 1])
def test_logits_one_quantized_block_are_the_quantized_network(n_batch):
    """Over one real block and the head, Axial's logits are the float64 network whose products see
    activations quantized as linalg.h describes, to fp32 rounding, while the exact network is far
    off: the real model's distance from the exact reference is that quantization, not a fault."""
    path, exact, quant = one_quantized_block()
    assert quant.n_layer == 1 and len(quant._quantized) == 8  # 7 block matrices and the tied head
    ids = prompt_ids("raw", LOGIT_TEXT)[:16]
    got = axial_logits(path, ids, n_batch)
    ref_q = quant.forward(ids, quant.new_cache())
    ref_e = exact.forward(ids, exact.new_cache())
    assert np.abs(ref_q - ref_e).max() >= 0.3, "the two references should be told apart"
    diff = np.abs(got - ref_q)
    assert diff.max() <= 1e-3, f"max |diff| {diff.max():.2e} at {np.unravel_index(diff.argmax(), diff.shape)}"


# ---- the derived f16 model: the forward in fp32 ------------------------------------------------

@functools.lru_cache(maxsize=None)
def f16_model(extra_kv=()):
    """extra_kv: ((key, value, GGUFValueType), ...) added to the derived file's metadata."""
    path = os.path.join(_TMP, f"two-blocks-f16-{next(_SERIAL)}.gguf")
    reader = gguf.GGUFReader(MODEL)
    src = {t.name: t for t in reader.tensors}

    def f16(name):
        t = src[name]
        return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), np.float32).astype(np.float16)

    tensors = {"token_embd.weight": f16("token_embd.weight")}
    tensors["output.weight"] = np.ascontiguousarray(tensors["token_embd.weight"][::-1])
    tensors["output_norm.weight"] = np.asarray(src["output_norm.weight"].data, np.float32)
    for layer in range(2):
        for name in [n for n in src if n.startswith(f"blk.{layer}.")]:
            is_norm = name.endswith("_norm.weight")
            tensors[name] = np.asarray(src[name].data, np.float32) if is_norm else f16(name)
    kv = {"llama.block_count": (2, gguf.GGUFValueType.UINT32)}
    kv.update({key: (value, kind) for key, value, kind in extra_kv})
    write_gguf(path, "llama", kv, tensors, reader, skip=tuple(kv))
    return path, Llama(path)


@pytest.mark.parametrize("n_batch", [512, 5, 1])
def test_logits_f16_model(n_batch):
    path, ref_model = f16_model()
    assert ref_model.n_layer == 2 and ref_model.output is not ref_model.embd
    ids = prompt_ids("raw", LOGIT_TEXT)
    ref = ref_model.forward(ids, ref_model.new_cache())
    got = axial_logits(path, ids, n_batch)
    diff = np.abs(got - ref)
    assert diff.max() <= 5e-4, f"max |diff| {diff.max():.2e} at {np.unravel_index(diff.argmax(), diff.shape)}"
    clear = top_two_gap(ref) >= 1e-2
    np.testing.assert_array_equal(got.argmax(axis=1)[clear], ref.argmax(axis=1)[clear])


F32 = gguf.GGUFValueType.FLOAT32


@pytest.mark.parametrize("key", ["llama.rope.scaling.factor", "llama.rope.scale_linear"])
def test_logits_linear_rope_scaling_without_a_type(key):
    # A linear factor with no rope.scaling.type key (or in the older rope.scale_linear key) is
    # honoured, as llama.cpp reads such files; the reference divides positions by the factor.
    path, ref_model = f16_model(((key, 4.0, F32),))
    assert ref_model.rope_factor == 4.0
    ids = prompt_ids("raw", LOGIT_TEXT)
    ref = ref_model.forward(ids, ref_model.new_cache())
    got = axial_logits(path, ids, 512)
    assert np.abs(got - ref).max() <= 5e-4
    _, plain = f16_model()
    assert np.abs(plain.forward(ids, plain.new_cache()) - ref).max() > 1e-2  # the factor matters here


# ---- errors through `axial generate` -----------------------------------------------------------

def test_generate_unknown_architecture(tmp_path):
    path = str(tmp_path / "gpt2.gguf")
    write_gguf(path, "gpt2", {"gpt2.block_count": (1, gguf.GGUFValueType.UINT32)}, {})
    r = run([AXIAL, "generate", "--model", path, "--prompt", "hi"], text=True)
    assert r.returncode == 1
    assert "AX_ERR_UNSUPPORTED" in r.stderr and "architecture 'gpt2'" in r.stderr and path in r.stderr


def tiny_llama(missing=None, bad_shape=None):
    """A 1-block llama of width 32 (2 heads of 16, 1 KV head, FFN 64, vocab 8) as f32 tensors."""
    rng = np.random.default_rng(0)
    E, F, V, KV = 32, 64, 8, 16
    shapes = {"token_embd.weight": (V, E), "output_norm.weight": (E,), "blk.0.attn_norm.weight": (E,),
              "blk.0.attn_q.weight": (E, E), "blk.0.attn_k.weight": (KV, E), "blk.0.attn_v.weight": (KV, E),
              "blk.0.attn_output.weight": (E, E), "blk.0.ffn_norm.weight": (E,), "blk.0.ffn_gate.weight": (F, E),
              "blk.0.ffn_up.weight": (F, E), "blk.0.ffn_down.weight": (E, F)}
    if bad_shape:
        shapes[bad_shape] = (shapes[bad_shape][0] + 1,) + shapes[bad_shape][1:]
    tensors = {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items() if n != missing}
    U32 = gguf.GGUFValueType.UINT32
    kv = {"llama.block_count": (1, U32), "llama.embedding_length": (E, U32), "llama.feed_forward_length": (F, U32),
          "llama.attention.head_count": (2, U32), "llama.attention.head_count_kv": (1, U32)}
    return kv, tensors


def test_generate_missing_tensor(tmp_path):
    path = str(tmp_path / "missing.gguf")
    kv, tensors = tiny_llama(missing="blk.0.ffn_up.weight")
    write_gguf(path, "llama", kv, tensors)
    r = run([AXIAL, "generate", "--model", path, "--prompt", "hi"], text=True)
    assert r.returncode == 1
    assert "AX_ERR_FORMAT" in r.stderr and "tensor 'blk.0.ffn_up.weight' is missing" in r.stderr
    assert "(64, 32)" in r.stderr


def test_generate_embedding_not_a_matrix(tmp_path):
    # A 3-D token_embd with llama.vocab_size given had been reported as "has -1 rows".
    path = str(tmp_path / "embd3d.gguf")
    kv, tensors = tiny_llama()
    kv["llama.vocab_size"] = (8, gguf.GGUFValueType.UINT32)
    tensors["token_embd.weight"] = tensors["token_embd.weight"].reshape(2, 4, 32)
    write_gguf(path, "llama", kv, tensors)
    r = run([AXIAL, "generate", "--model", path, "--prompt", "hi"], text=True)
    assert r.returncode == 1
    assert "tensor 'token_embd.weight' has 3 dimensions, expected 2 (32, n_vocab)" in r.stderr


@pytest.mark.parametrize("extra", ["blk.0.attn_q.bias", "rope_freqs.weight", "blk.1.attn_norm.weight"])
def test_generate_refuses_tensors_it_would_not_read(tmp_path, extra):
    # Attention biases, Llama 3.1's rope frequency factors or a block past block_count would change
    # what the file computes: refused by name, not ignored.
    path = str(tmp_path / "extra.gguf")
    kv, tensors = tiny_llama()
    tensors[extra] = np.ones(32 if extra != "rope_freqs.weight" else 8, np.float32)
    write_gguf(path, "llama", kv, tensors)
    r = run([AXIAL, "generate", "--model", path, "--prompt", "hi"], text=True)
    assert r.returncode == 1
    assert "AX_ERR_UNSUPPORTED" in r.stderr and f"tensor '{extra}' is not one Axial's llama forward reads" in r.stderr


@pytest.mark.parametrize("key", ["llama.rope.freq_base", "llama.rope.scaling.factor",
                                 "llama.attention.layer_norm_rms_epsilon"])
def test_generate_denormal_float_metadata(tmp_path, key):
    # 1e-40 in float32 is > 0 but below FLT_MIN: refused at load naming the key. It had loaded and
    # then given NaN angles (freq_base), failed every evaluation naming an internal option
    # (scaling.factor), or let an all-zero row become NaN (epsilon).
    path = str(tmp_path / "denormal.gguf")
    kv, tensors = tiny_llama()
    kv[key] = (1e-40, F32)
    write_gguf(path, "llama", kv, tensors)
    r = run([AXIAL, "generate", "--model", path, "--prompt", "hi"], text=True)
    assert r.returncode == 1
    assert "AX_ERR_FORMAT" in r.stderr and f"metadata '{key}' is " in r.stderr, r.stderr


def test_generate_wrong_shape(tmp_path):
    path = str(tmp_path / "shape.gguf")
    kv, tensors = tiny_llama(bad_shape="blk.0.attn_k.weight")
    write_gguf(path, "llama", kv, tensors)
    r = run([AXIAL, "generate", "--model", path, "--prompt", "hi"], text=True)
    assert r.returncode == 1
    assert "tensor 'blk.0.attn_k.weight' has shape (17, 32), expected (16, 32)" in r.stderr


def test_generate_cli_errors():
    # A --model that cannot be read is named; how to fetch the default model is said only when no
    # --model was given (the default, here from AXIAL_MODEL, is missing), not after the user's own file.
    r = run([AXIAL, "generate", "--model", "/nonexistent-axial/model.gguf", "--prompt", "hi"], text=True)
    assert r.returncode == 1
    assert "/nonexistent-axial/model.gguf" in r.stderr and "scripts/fetch-model.sh" not in r.stderr
    r = run([AXIAL, "generate", "--prompt", "hi"], text=True,
            env=dict(os.environ, AXIAL_MODEL="/nonexistent-axial/m.gguf"))
    assert r.returncode == 1
    assert "/nonexistent-axial/m.gguf" in r.stderr and "scripts/fetch-model.sh" in r.stderr
    for bad in (["--temperature", "-1"], ["--top-p", "0"], ["--max-tokens", "x"], ["--device", "tpu"]):
        r = run([AXIAL, "generate", "--model", MODEL, "--prompt", "hi"] + bad, text=True)
        assert r.returncode == 2, (bad, r.stderr)
        assert bad[0] in r.stderr
    r = run([AXIAL, "generate", "--model", MODEL], text=True)
    assert r.returncode == 2 and "--prompt" in r.stderr
    # a context past the training one runs, with a note (it had been taken silently)
    r = run([AXIAL, "generate", "--model", MODEL, "--prompt", "hi", "--max-tokens", "1", "--ctx-size", "9000"],
            text=True)
    assert r.returncode == 0 and "--ctx-size 9000 is past the 8192 tokens the model was trained on" in r.stderr
    n = len(axial_tokenize("The capital of France is Paris, and the capital of Italy is Rome."))
    r = run([AXIAL, "generate", "--model", MODEL, "--prompt", "The capital of France is Paris, and the capital of "
             "Italy is Rome.", "--ctx-size", "4"], text=True)
    assert r.returncode == 2 and f"the prompt has {n} tokens, more than the context of 4 (--ctx-size)" in r.stderr
    r = run([AXIAL, "tokenize", "--model", MODEL, "--"], text=True)
    assert r.returncode == 2 and "'--' with no TEXT after it" in r.stderr
    r = run([AXIAL, "tokenize", "--model", MODEL, "--", "--"], text=True)  # `--` then the text "--"
    assert r.returncode == 0 and len(r.stdout.split()) >= 1
