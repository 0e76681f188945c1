"""Independent references for test_llm.py, written from the Llama architecture and the GGUF format,
not from Axial's code: the weights come from the `gguf` PyPI package's reader and dequantizer, the
forward pass is float64 NumPy, and the tokenizer is Hugging Face `tokenizers` built from the file's
vocabulary and merges."""
import numpy as np


def read_gguf(path):
    import gguf

    return gguf.GGUFReader(str(path))


def field(reader, key):
    f = reader.fields[key]
    return f.contents()


def hf_tokenizer(reader, special_tokens=True):
    """A `tokenizers.Tokenizer` for a GGUF whose tokenizer.ggml.model is gpt2 and pre is smollm
    (Hugging Face's SmolLM2 tokenizer.json: digits split one by one, then GPT-2 byte-level)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    assert field(reader, "tokenizer.ggml.model") == "gpt2"
    assert field(reader, "tokenizer.ggml.pre") == "smollm"
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    tk = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tk.decoder = decoders.ByteLevel()
    if special_tokens:
        # GGUF token type 3 = control: <|endoftext|>, <|im_start|>, <|im_end|>, ...
        tk.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                               for i, t in enumerate(types) if t == 3])
    return tk


class LlamaReference:
    """The Llama decoder in float64 over the dequantized GGUF weights (tied embeddings allowed)."""

    def __init__(self, reader):
        import gguf

        arch = field(reader, "general.architecture")
        self.n_layer = int(field(reader, f"{arch}.block_count"))
        self.n_head = int(field(reader, f"{arch}.attention.head_count"))
        self.n_head_kv = int(field(reader, f"{arch}.attention.head_count_kv"))
        self.eps = float(field(reader, f"{arch}.attention.layer_norm_rms_epsilon"))
        self.base = float(field(reader, f"{arch}.rope.freq_base"))
        self.w = {}
        for t in reader.tensors:
            # The dequantizer returns GGML's shape reversed: (out, in) for a matrix.
            self.w[t.name] = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64)
        self.n_embd = self.w["token_embd.weight"].shape[1]
        self.head_dim = self.n_embd // self.n_head

    def _rms(self, x, weight):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * weight

    def _rope(self, x, pos):
        # GGML's "normal" RoPE for llama: adjacent pairs (2i, 2i+1) of each head rotate by
        # pos * base^(-2i / head_dim).
        d = x.shape[-1]
        theta = pos[:, None] * self.base ** (-np.arange(0, d, 2) / d)  # (n, d/2)
        cos, sin = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x0 * cos - x1 * sin
        out[..., 1::2] = x0 * sin + x1 * cos
        return out

    def logits(self, ids):
        w = self.w
        n, dh = len(ids), self.head_dim
        pos = np.arange(n, dtype=np.float64)
        x = w["token_embd.weight"][np.asarray(ids)]
        mask = np.triu(np.full((n, n), -np.inf), 1)
        group = self.n_head // self.n_head_kv
        for i in range(self.n_layer):
            p = f"blk.{i}."
            h = self._rms(x, w[p + "attn_norm.weight"])
            q = self._rope((h @ w[p + "attn_q.weight"].T).reshape(n, self.n_head, dh), pos)
            k = self._rope((h @ w[p + "attn_k.weight"].T).reshape(n, self.n_head_kv, dh), pos)
            v = (h @ w[p + "attn_v.weight"].T).reshape(n, self.n_head_kv, dh)
            k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
            s = np.einsum("ihd,jhd->hij", q, k) / np.sqrt(dh) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            x = x + np.einsum("hij,jhd->ihd", s, v).reshape(n, -1) @ w[p + "attn_output.weight"].T
            h = self._rms(x, w[p + "ffn_norm.weight"])
            g, u = h @ w[p + "ffn_gate.weight"].T, h @ w[p + "ffn_up.weight"].T
            x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "ffn_down.weight"].T
        x = self._rms(x, w["output_norm.weight"])
        head = w.get("output.weight", w["token_embd.weight"])
        return x @ head.T
