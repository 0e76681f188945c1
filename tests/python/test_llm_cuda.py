"""The LLM runner on CUDA (ax_llm_model_config.device = CUDA: weights uploaded once, the forward on the
GPU) judged by the float64 NumPy decoder of tests/python/llm_reference.py on the same file.

The model: SmolLM2-135M-Instruct Q4_1 cut to its first 2 blocks (tests/python/derive_blocks.py, every
tensor copied byte for byte; scripts/gpu-model.sh writes it to .gpu-model/ so it can travel to a GPU
machine, which the 98 MB original cannot). ctest runs this file through tests/python/run_llm_cuda.sh,
which sets AXIAL_LLM_CUDA_MODEL and AXIAL_LLM_HELPER (tests/llm_helper.c, run with AXIAL_DEVICE=cuda).
A CPU run of the same file is not the reference; the reference is float64 over the weights the `gguf`
package dequantizes.

Why the bound is an fp32 one. The CUDA forward decodes the weight blocks with the library's
dequantization arithmetic (d * q + m for Q4_1, d * q for Q8_0, in fp32: d * q is exact and the one
rounding of the sum is gguf's own, so both sides multiply by the same weights) and keeps every
activation in fp32: no activation quantization (docs/llm.md), cuBLAS without TF32 for prefill, fp32
warp dot products for decode, fp32 KV cache and softmax. What separates it from the float64 reference
is therefore fp32 rounding alone, u = 2^-24 per operation. The products have K = 576 or 1536 terms, so
the worst-case bound (about K u times the sum of the terms' magnitudes) is far too loose to be useful;
what an fp32 forward actually does was measured on these models instead, with a float32 NumPy
forward of the same definition (every array float32), over the 19-token prompt, in one chunk and
token by token: max |diff| against float64 of 4.1e-5 for the dense model (logits up to 74.5, i.e.
9.1 u x max |logit|), 3.1e-5 (6.9 u) for the k = 8 MoE model and 7.5e-5 (logits up to 67.5: 18.7 u)
for the seeded-router MoE model below; the CPU's fp32 forward of test_llm_reference.py's f16
two-block model measured 3.2e-5 with logits up to 74 (its bound 5e-4 is 6.8e-6 x max |logit|). The
bound here is F32_REL = 1e-5 x max |reference logit| (168 u; 7.4e-4 at 74): 9x or more every fp32
forward measured, for the CUDA kernels' own summation orders (warp-strided dots and shuffle trees,
cuBLAS's blocking, an online softmax over 32-key tiles), which round in other places but not more
often. Any fault of the forward (a wrong RoPE pair or GQA head, a missed cache row, a block skipped,
a wrong expert) moves logits by O(1), three orders above it. Argmax equality is asserted wherever
the reference's top-two gap is >= 1e-2 (more than 13x the largest bound, so two logits cannot swap
there).

Greedy generation: the 2-block model is a truncated network, its continuations repetitive, and its
top-two gaps small for a language model (below 0.25 at some step of every prompt tried). A flip
needs the top two logits to close their gap, i.e. one of them to move by >= gap / 2; with the margin
GREEDY_MIN_GAP = 0.05 that is >= 0.025, over 30x the logit bound and over 600x the fp32 forward's
measured deviation. The prompts below have gaps >= 0.13 at all 16 steps (asserted, so a near-tie
shows up as a bad prompt, not as a flaky failure), and the CUDA ids must equal the reference's at
every step.

Mixture of Experts on CUDA (models derived from the 2-block file by tests/python/derive_moe.py, as
test_llm_moe.py derives them from the full one: each feed-forward split into 8 experts of 192, Q4_1
blocks copied, the down experts' d and m times 8): k = 8 with the zero router is the dense network
exactly (the float64 references of both files agree to 1e-9, asserted), and a seeded random router
with k = 2 makes the experts compete. CUDA's grouped GEMM decodes the experts' blocks and does not
quantize x (moe.h), so the whole MoE forward is fp32 too and is held to F32_REL. The random router's
routing is compared only where it cannot flip: the reference's gap between the 2nd and 3rd router
logit of every (block, token) must be >= MIN_ROUTE_GAP = 1e-3 (asserted), while fp32 moves a router
logit (std 2, a 576-term product of a normed row) by ~1e-5. Seed 1615 gives min gap 0.24 over the
prompt's 19 tokens x 2 blocks (the largest of seeds 0 - 1999) and routes to all 8 experts.

AXIAL_LLM_CUDA_TEST_ON_CPU=1 runs this module with the CPU device instead, as a self-check of the
harness on a machine without a GPU (the derivations, the reference plumbing, the helper's calls and
the token logic run for real). It is not a test of the CPU forward: test_llm_reference.py and
test_llm_moe.py are. The CPU multiplies block-quantized weights with int8-quantized activations, so it
is held to their quantization-noise bounds (max |diff| 4.0, RMS 0.6, top-1 where the gap is >= 0.5;
measured on this model: dense 0.99 / 0.13, MoE k = 8 0.77 / 0.11, MoE seed 1615 1.85 / 0.18), greedy
ids are compared only up to the first step whose reference gap is below 1.0 (test_llm_reference.py's
margin), and the router gap must be >= 0.2 (router logits carry that noise; seed 1615's 0.24 held).
"""
import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
pytest.importorskip("jinja2")  # render_chat (llm_reference.py) needs it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from derive_moe import derive_moe  # noqa: E402
from llm_reference import Llama, render_chat, top_two_gap  # noqa: E402

MODEL = os.environ.get("AXIAL_LLM_CUDA_MODEL")
HELPER = os.environ.get("AXIAL_LLM_HELPER")
if not (MODEL and HELPER):
    pytest.skip("AXIAL_LLM_CUDA_MODEL and AXIAL_LLM_HELPER are not set (ctest's test_llm_cuda sets them)",
                allow_module_level=True)
ON_CPU = os.environ.get("AXIAL_LLM_CUDA_TEST_ON_CPU") == "1"
DEVICE = "cpu" if ON_CPU else "cuda"

F32_REL = 1e-5                           # CUDA: max |diff| <= F32_REL x max |reference logit|
CPU_MAX_DIFF, CPU_RMS_DIFF = 4.0, 0.6    # the CPU self-check: test_llm_reference.py's noise bounds
CLEAR_GAP = 0.5 if ON_CPU else 1e-2      # top-1 must agree where the reference's top-two gap is this
GREEDY_MIN_GAP = 1.0 if ON_CPU else 0.05
MIN_ROUTE_GAP = 0.2 if ON_CPU else 1e-3
ROUTER_SEED = 1615

GREEDY_NEW = 16
GREEDY_PROMPTS = [("raw", "1, 2, 3, 4, 5, 6, 7, 8,"), ("raw", "a b c d e f g h i j"),
                  ("chat", "Count from 1 to 10.")]
LOGIT_TEXT = "The capital of France is Paris. The capital of Germany is Berlin. The capital of Italy is"

_TMP = tempfile.mkdtemp(prefix="axial-llm-cuda-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


def helper(args, on_device=True):
    """Runs llm_helper with AXIAL_DEVICE set (on_device) or on the CPU. Its 77 (no device) fails the
    test: run_llm_cuda.sh has found a device before pytest starts, so a 77 here means the device
    was lost or not used, and skipping every test would let ctest report a GPU test as passed."""
    env = dict(os.environ, AXIAL_DEVICE=DEVICE if on_device else "cpu")
    r = subprocess.run([HELPER] + args, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode != 77, f"llm_helper {args[0]}: no device after run_llm_cuda.sh found one: {r.stdout}"
    assert r.returncode == 0, f"llm_helper {args[0]}: exit {r.returncode}: {r.stderr}"
    return r.stdout


@functools.lru_cache(maxsize=None)
def reference(path=None):
    return Llama(path or MODEL)


@functools.lru_cache(maxsize=None)
def tokenize(text):
    # the tokenizer is host code and tested elsewhere (test_tokenizer_hf.py); this only supplies ids
    return tuple(int(t) for t in helper(["tokenize", MODEL, text], on_device=False).split())


def prompt_ids(kind, text):
    if kind == "chat":
        text = render_chat(reference().chat_template, text)
    return list(tokenize(text))


def logit_ids():
    ids = list(tokenize(LOGIT_TEXT))
    assert len(ids) >= 16
    return ids


@functools.lru_cache(maxsize=None)
def reference_logits(path=None):
    """The float64 logits of the logit prompt on the model at path (None: MODEL), computed once."""
    ref = reference(path)
    return ref.forward(logit_ids(), ref.new_cache())


def device_logits(path, ids, n_batch):
    out = os.path.join(_TMP, "logits.f32")
    helper(["logits", path, out, str(n_batch)] + [str(i) for i in ids])
    got = np.fromfile(out, np.float32)
    os.remove(out)
    return got.reshape(len(ids), -1).astype(np.float64)


def assert_close(got, ref, what):
    assert got.shape == ref.shape, what
    assert np.all(np.isfinite(got)), f"{what}: non-finite logits at rows {np.flatnonzero(~np.isfinite(got).all(1))}"
    diff = np.abs(got - ref)
    where = np.unravel_index(diff.argmax(), diff.shape)
    if ON_CPU:
        assert diff.max() <= CPU_MAX_DIFF, f"{what}: max |diff| {diff.max():.3f} at {where}"
        rms = np.sqrt(np.mean(diff ** 2))
        assert rms <= CPU_RMS_DIFF, f"{what}: RMS diff {rms:.3f}"
    else:
        bound = F32_REL * np.abs(ref).max()
        assert diff.max() <= bound, f"{what}: max |diff| {diff.max():.2e} at {where}, bound {bound:.2e}"
    clear = top_two_gap(ref) >= CLEAR_GAP
    assert clear.sum() >= len(ref) // 2, f"{what}: the prompt should have clear top-1 tokens at most positions"
    np.testing.assert_array_equal(got.argmax(axis=1)[clear], ref.argmax(axis=1)[clear], err_msg=what)


# ---- the dense 2-block model ---------------------------------------------------------------------

def test_info():
    """The model loads on the device with the reference's shape and every tensor's bytes uploaded."""
    ref = reference()
    n_layer, n_embd, n_ff, n_expert, n_used, weight_bytes = (int(v) for v in helper(["info", MODEL]).split())
    assert (n_layer, n_embd, n_expert, n_used) == (ref.n_layer, ref.n_embd, 0, 0)
    assert n_ff == ref.layers[0]["ffn_gate"].shape[0]
    assert weight_bytes == sum(int(t.n_bytes) for t in gguf.GGUFReader(MODEL).tensors)


@pytest.mark.parametrize("n_batch", [512, 5, 1])
def test_logits(n_batch):
    """Prefill in one chunk (CUDA: cuBLAS on decoded weights), in chunks of 5 and token by token
    (CUDA: the decode kernels), every position's logits against float64."""
    assert_close(device_logits(MODEL, logit_ids(), n_batch), reference_logits(), f"n_batch {n_batch}")


@functools.lru_cache(maxsize=None)
def reference_greedy(kind, text):
    ids = prompt_ids(kind, text)
    want, gaps = reference().greedy(ids, GREEDY_NEW)
    return ids, want, gaps


@pytest.mark.parametrize("kind,text", GREEDY_PROMPTS)
def test_greedy(kind, text):
    ids, want, gaps = reference_greedy(kind, text)
    got = [int(t) for t in helper(["greedy", MODEL, str(GREEDY_NEW)] + [str(i) for i in ids]).split()]
    assert len(got) == GREEDY_NEW
    # the steps before the first one whose top two are closer than the margin are decided; later
    # ones may follow another token
    n_clear = next((i for i, g in enumerate(gaps) if g < GREEDY_MIN_GAP), len(gaps))
    if ON_CPU:
        assert n_clear >= 2, f"bad prompt: the reference's top-two gaps {np.round(gaps, 3)}"
    else:
        assert n_clear == len(gaps), f"bad prompt: the reference's top-two gaps {np.round(gaps, 3)} include a near-tie"
    assert got[:n_clear] == want[:n_clear], f"reference gaps {np.round(gaps, 3)}"


# ---- Mixture of Experts on the device ------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def moe_model(k, router_seed=None):
    name = f"moe-k{k}-" + ("zero" if router_seed is None else f"seed{router_seed}") + ".gguf"
    path = derive_moe(MODEL, os.path.join(_TMP, name), k=k, router_seed=router_seed)
    return path, reference(path)


def test_moe_derivation_is_exact():
    """The float64 reference of the k = 8 zero-router file equals the dense one: the split is exact."""
    path, moe_ref = moe_model(8)
    np.testing.assert_allclose(reference_logits(path), reference_logits(), rtol=0, atol=1e-9)
    n_layer, _, n_ff, n_expert, n_used, _ = (int(v) for v in helper(["info", moe_model(8)[0]]).split())
    assert (n_layer, n_ff, n_expert, n_used) == (moe_ref.n_layer, moe_ref.layers[0]["ffn_gate_exps"].shape[1], 8, 8)


@pytest.mark.parametrize("n_batch", [512, 1])
def test_moe_k8_zero_router(n_batch):
    path, _ = moe_model(8)
    assert_close(device_logits(path, logit_ids(), n_batch), reference_logits(path),
                 f"MoE k = 8, zero router, n_batch {n_batch}")


@pytest.mark.parametrize("n_batch", [512, 1])
def test_moe_k2_random_router(n_batch):
    path, moe_ref = moe_model(2, ROUTER_SEED)
    ref = reference_logits(path)  # its forward records the routing the checks below read
    gap = moe_ref.route_gaps.min()
    assert gap >= MIN_ROUTE_GAP, f"bad router seed: the 2nd - 3rd router-logit gap falls to {gap:.2e}"
    used = np.bincount(moe_ref.route_experts.ravel(), minlength=8)
    assert (used > 0).sum() >= 6, f"the router should spread the tokens: {used}"
    assert_close(device_logits(path, logit_ids(), n_batch), ref,
                 f"MoE k = 2, router seed {ROUTER_SEED}, n_batch {n_batch}")
