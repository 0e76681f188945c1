"""A float64 NumPy Llama decoder, the independent reference of tests/python/test_llm_reference.py.

Everything here is written from the model's definition (Llama: pre-norm RMSNorm blocks, rotary
position embeddings, grouped-query causal attention, SwiGLU feed-forward, a final RMSNorm and a
linear head), not from Axial's code. Weights come from the `gguf` package: GGUFReader reads the file,
gguf.quants.dequantize turns the Q4_1 / Q8_0 blocks into floats (GGML's own Python code), and every
product, norm, rotation and softmax is then computed in float64.

GGUF stores Llama's Q and K projections with their output rows permuted so that llama.cpp's
"normal" RoPE, which rotates adjacent pairs (2i, 2i+1) of a head, gives the same result as Hugging
Face's rotate-half on the original rows; the reference therefore rotates adjacent pairs.

Mixture of Experts (a file with llama.expert_count, llama.cpp's Mixtral layout): each block's
feed-forward is E SwiGLU experts, ffn_{gate,up}_exps (E, F, D) and ffn_down_exps (E, D, F), and a
router ffn_gate_inp (E, D). A token's router logits h @ router^T become p = softmax (or sigmoid with
llama.expert_gating_func = 2); the k = llama.expert_used_count largest p are kept (ties to the lower
expert id), divided by their sum unless llama.expert_weights_norm is false, and the block's output
is the p-weighted sum of those experts' SwiGLU outputs.

write_gguf and copy_metadata write derived test models with gguf.GGUFWriter.
"""
import gguf
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

LAYER_WEIGHTS = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                 "ffn_down")
MOE_LAYER_WEIGHTS = ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate_inp",
                     "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps")


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def quantize_rows(x):
    """x as ax_qmatmul's CPU path sees it (include/axial/linalg.h): each row in float32, cut into
    groups of G elements (the largest of 256, 128, 64, 32 dividing the row), each group's values
    replaced by rint(v * (127 / amax)) * (amax / 127), those two factors rounded to float32. Written
    from that description; returns float64."""
    x = np.asarray(x, np.float32)
    K = x.shape[-1]
    G = next(g for g in (256, 128, 64, 32) if K % g == 0)
    v = x.reshape(*x.shape[:-1], K // G, G)
    amax = np.abs(v).max(axis=-1, keepdims=True)
    # a group of zeros, or so small that 127 / amax overflows, reads as zeros (not modelled further:
    # linalg.h divides by the scale there, at magnitudes real activations never reach)
    usable = (amax > 0) & (amax >= np.float32(127.0) / np.finfo(np.float32).max)
    safe = np.where(usable, amax, np.float32(1))
    inv = np.float32(127.0) / safe
    levels = np.clip(np.rint(v * inv), -127, 127)
    q = levels.astype(np.float64) * (safe / np.float32(127.0)).astype(np.float64)
    return np.where(usable, q, 0.0).reshape(x.shape)


class Llama:
    def __init__(self, path, quantize_activations=False):
        """quantize_activations: the inputs of products with a block-quantized matrix are first
        quantized as ax_qmatmul does (quantize_rows), which makes this the network Axial's CPU
        forward computes on the real model up to fp32 rounding (dense files only)."""
        reader = GGUFReader(path)
        arch = _field(reader, "general.architecture")
        assert arch == "llama", arch
        self.n_layer = int(_field(reader, "llama.block_count"))
        self.n_embd = int(_field(reader, "llama.embedding_length"))
        self.n_head = int(_field(reader, "llama.attention.head_count"))
        self.n_head_kv = int(_field(reader, "llama.attention.head_count_kv", self.n_head))
        self.head_dim = self.n_embd // self.n_head
        self.rope_base = float(_field(reader, "llama.rope.freq_base", 10000.0))
        # Linear position scaling as llama.cpp reads it: rope.scaling.factor when the type is linear
        # or absent, else the older rope.scale_linear; positions are divided by the factor (0: none).
        kind = _field(reader, "llama.rope.scaling.type", "linear")
        assert kind in ("linear", "none"), kind
        factor = _field(reader, "llama.rope.scaling.factor", None)
        if factor is None:
            factor = _field(reader, "llama.rope.scale_linear", 0.0)
        self.rope_factor = float(factor) if kind == "linear" and float(factor) > 0 else 1.0
        self.eps = float(_field(reader, "llama.attention.layer_norm_rms_epsilon"))
        self.n_expert = int(_field(reader, "llama.expert_count", 0))
        self.n_expert_used = int(_field(reader, "llama.expert_used_count", 0))
        self.expert_norm = bool(_field(reader, "llama.expert_weights_norm", True))
        self.expert_sigmoid = int(_field(reader, "llama.expert_gating_func", 1)) == 2
        # MoE: per forward call, the router-logit gap between the k-th and (k+1)-th choice of every
        # (layer, token), (n_layer, T); a tiny gap is a near-tie another implementation may break
        # the other way; route_experts (n_layer, T, k) the experts chosen.
        self.route_gaps = self.route_experts = None
        tensors = {t.name: t for t in reader.tensors}
        self._quantized = set()  # ids of the block-quantized matrices, when quantize_activations
        assert not (quantize_activations and self.n_expert), "quantize_activations: dense files only"
        float_types = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16,
                       gguf.GGMLQuantizationType.BF16, gguf.GGMLQuantizationType.F64)

        def weight(name):
            t = tensors[name]
            w = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float64)
            if quantize_activations and t.tensor_type not in float_types and w.ndim == 2:
                self._quantized.add(id(w))
            return w

        self.embd = weight("token_embd.weight")  # (V, E)
        self.output = weight("output.weight") if "output.weight" in tensors else self.embd
        self.output_norm = weight("output_norm.weight")
        names = MOE_LAYER_WEIGHTS if self.n_expert else LAYER_WEIGHTS
        self.layers = [{k: weight(f"blk.{layer}.{k}.weight") for k in names} for layer in range(self.n_layer)]
        self.n_vocab = self.embd.shape[0]
        self.tokens = [bytes(t) if not isinstance(t, str) else t for t in _field(reader, "tokenizer.ggml.tokens")]
        self.token_type = list(_field(reader, "tokenizer.ggml.token_type"))
        self.merges = list(_field(reader, "tokenizer.ggml.merges", []))
        self._tokenizer = None
        self.chat_template = _field(reader, "tokenizer.chat_template")
        self.eos_id = int(_field(reader, "tokenizer.ggml.eos_token_id", -1))

    def tokenize(self, text):
        """text's token ids by Hugging Face's `tokenizers` over this file's vocabulary and merges, control
        tokens parsed as specials: prompts for the reference come from outside the code under test."""
        if self._tokenizer is None:
            control = [t for t, ty in zip(self.tokens, self.token_type) if ty == 3]
            self._tokenizer = hf_tokenizer(self.tokens, self.merges, control)
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def mm(self, x, w):
        """x @ w^T for a weight matrix w (out, in) of the file."""
        if id(w) in self._quantized:
            x = quantize_rows(x)
        return x @ w.T

    def rms_norm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def rope(self, x, positions):
        """x (T, heads, D): rotate adjacent pairs (2i, 2i+1) by pos * base^(-2i/D)."""
        d = x.shape[-1]
        inv_freq = self.rope_base ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # (D/2)
        angle = np.asarray(positions, np.float64)[:, None] / self.rope_factor * inv_freq[None, :]  # (T, D/2)
        cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos - b * sin
        out[..., 1::2] = a * sin + b * cos
        return out

    def new_cache(self):
        return {"pos": 0, "k": [np.zeros((0, self.n_head_kv, self.head_dim)) for _ in range(self.n_layer)],
                "v": [np.zeros((0, self.n_head_kv, self.head_dim)) for _ in range(self.n_layer)]}

    def forward(self, ids, cache):
        """Appends ids to the cache; returns the float64 logits of every new token, (T, V)."""
        T, H, Hkv, D = len(ids), self.n_head, self.n_head_kv, self.head_dim
        p0 = cache["pos"]
        positions = np.arange(p0, p0 + T)
        x = self.embd[np.asarray(ids)]
        group = H // Hkv
        self.route_gaps = np.full((self.n_layer, T), np.inf)
        self.route_experts = np.zeros((self.n_layer, T, self.n_expert_used), np.int64)
        for li, w in enumerate(self.layers):
            h = self.rms_norm(x, w["attn_norm"])
            q = self.rope(self.mm(h, w["attn_q"]).reshape(T, H, D), positions)
            k = self.rope(self.mm(h, w["attn_k"]).reshape(T, Hkv, D), positions)
            v = self.mm(h, w["attn_v"]).reshape(T, Hkv, D)
            cache["k"][li] = np.concatenate([cache["k"][li], k])
            cache["v"][li] = np.concatenate([cache["v"][li], v])
            K, Vv = cache["k"][li], cache["v"][li]  # (S, Hkv, D)
            S = K.shape[0]
            attn = np.empty((T, H, D))
            mask = np.arange(S)[None, :] > positions[:, None]  # key after the query: hidden
            for hh in range(H):
                kv = hh // group
                scores = q[:, hh, :] @ K[:, kv, :].T / np.sqrt(D)  # (T, S)
                scores[mask] = -np.inf
                scores -= scores.max(axis=1, keepdims=True)
                p = np.exp(scores)
                p /= p.sum(axis=1, keepdims=True)
                attn[:, hh, :] = p @ Vv[:, kv, :]
            x = x + self.mm(attn.reshape(T, H * D), w["attn_output"])
            h = self.rms_norm(x, w["ffn_norm"])
            if self.n_expert:
                x = x + self.moe_ffn(h, w, li)
            else:
                gate, up = self.mm(h, w["ffn_gate"]), self.mm(h, w["ffn_up"])
                x = x + self.mm(gate / (1.0 + np.exp(-gate)) * up, w["ffn_down"])
        cache["pos"] = p0 + T
        return self.mm(self.rms_norm(x, self.output_norm), self.output)

    def moe_ffn(self, h, w, li):
        """The experts' feed-forward of the (T, D) normed rows h in block li."""
        k = self.n_expert_used
        logits = h @ w["ffn_gate_inp"].T  # (T, E)
        if self.expert_sigmoid:
            p = 1.0 / (1.0 + np.exp(-logits))
        else:
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
        order = np.argsort(-p, axis=1, kind="stable")  # decreasing p, ties to the lower id
        self.route_experts[li] = order[:, :k]
        if k < self.n_expert:
            ranked = np.take_along_axis(logits, order, axis=1)
            self.route_gaps[li] = ranked[:, k - 1] - ranked[:, k]
        out = np.zeros_like(h)
        for t in range(h.shape[0]):
            chosen = order[t, :k]
            weights = p[t, chosen] / (p[t, chosen].sum() if self.expert_norm else 1.0)
            for e, we in zip(chosen, weights):
                gate, up = self.mm(h[t], w["ffn_gate_exps"][e]), self.mm(h[t], w["ffn_up_exps"][e])
                out[t] += we * self.mm(gate / (1.0 + np.exp(-gate)) * up, w["ffn_down_exps"][e])
        return out

    def greedy(self, prompt, n_new):
        """Greedy continuation: (the n_new ids, the top-1 minus top-2 logit gap at each step)."""
        cache = self.new_cache()
        logits = self.forward(prompt, cache)[-1]
        out, gaps = [], []
        for _ in range(n_new):
            top2 = np.sort(logits)[-2:]
            gaps.append(float(top2[1] - top2[0]))
            tok = int(np.argmax(logits))
            out.append(tok)
            logits = self.forward([tok], cache)[-1]
        return out, gaps

    def is_end(self, tok):
        return tok == self.eos_id or self.token_bytes(tok) in (b"<|im_end|>", b"<|endoftext|>")

    def token_bytes(self, tok):
        """GPT-2 byte-level decoding of one token: each character of the vocabulary string stands for
        one byte (printable bytes as themselves, the others shifted to U+0100 and up)."""
        s = self.tokens[tok]
        s = s.decode("utf-8") if isinstance(s, bytes) else s
        if self.token_type[tok] == 3:  # control tokens are their text
            return s.encode("utf-8")
        return bytes(_UNICODE_TO_BYTE[c] for c in s)

    def decode(self, ids):
        return b"".join(self.token_bytes(t) for t in ids)


def top_two_gap(logits):
    """The gap between each row's two largest logits (a greedy choice is only fair where it is clear)."""
    s = np.sort(logits, axis=-1)
    return s[..., -1] - s[..., -2]


def render_chat(template, user):
    """One user message through a GGUF's Jinja chat template, with the generation prompt."""
    import jinja2  # only the chat tests need it

    env = jinja2.Environment()
    return env.from_string(template).render(messages=[{"role": "user", "content": user}], add_generation_prompt=True)


def as_written(t):
    """A reader tensor as write_gguf takes it unchanged: float data (F32, F16) as an array of the numpy
    shape, anything else as (raw bytes, GGMLQuantizationType)."""
    if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
        # GGUF lists dimensions innermost first; the writer takes the numpy (outermost first) shape
        return np.asarray(t.data).reshape([int(n) for n in reversed(t.shape)])
    return (np.asarray(t.data), t.tensor_type)


def copy_metadata(reader, writer, skip=()):
    """Every key of reader's file except GGUF.* and general.architecture (the writer sets it) and skip."""
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in skip:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub)


def write_gguf(path, arch, kv, tensors, reader=None, skip=()):
    """Writes a GGUF file: reader's metadata (less skip), then kv {key: (value, GGUFValueType)}, then
    tensors {name: array}, an array being float data or (raw bytes, GGMLQuantizationType) for blocks
    copied as they are (the bytes' last axis holds whole blocks of a row)."""
    w = gguf.GGUFWriter(path, arch)
    if reader is not None:
        copy_metadata(reader, w, skip)
    for key, (value, vtype) in kv.items():
        w.add_key_value(key, value, vtype)
    for name, array in tensors.items():
        if isinstance(array, tuple):
            w.add_tensor(name, array[0], raw_dtype=array[1])
        else:
            w.add_tensor(name, array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hf_tokenizer(tokens, merges, control, digits=True, specials=True):
    """Hugging Face `tokenizers`' byte-level BPE (GPT-2 pre-tokenizer, digits split one by one as
    SmolLM2's) over a GGUF's tokens and merges; `control` tokens added as specials when `specials`."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=[tuple(m.split(" ")) for m in merges])
    tk = Tokenizer(bpe)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]) \
        if digits else byte_level
    tk.decoder = decoders.ByteLevel()
    if specials:
        tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    return tk


def _byte_level_map():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[chr(b)] = b
        else:
            table[chr(256 + extra)] = b
            extra += 1
    return table


_UNICODE_TO_BYTE = _byte_level_map()
