"""The byte-level BPE tokenizer (src/llm/tokenizer.h) judged by independent references:

* Hugging Face `tokenizers` built from the SAME GGUF's vocabulary and merges (read with the `gguf`
  package) in SmolLM2's own tokenizer.json configuration: BPE, pre-tokenizer Sequence([Digits(
  individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)]), ByteLevel decoder, the
  control tokens as special added tokens. Every line of a deterministic corpus of > 10,000 lines
  (prose, Python source, many scripts, emoji, numbers, whitespace, controls, combining marks, special
  token text, and a sweep of every code point assigned in Python's Unicode version) must give the
  same ids, with special-token parsing off and on, and decode back to its bytes.
* For invalid UTF-8 (which a Python str cannot hold): HF's own pre-tokenizer run on the text with each
  bad byte replaced by U+FFFD (a symbol, as Axial classes a bad byte), then HF's BPE model on each
  piece's ORIGINAL bytes.
* Each token's bytes: GPT-2's published byte-to-unicode table, inverted here.
* Chat: jinja2 rendering the GGUF's own tokenizer.chat_template (as transformers does).
* Errors: small GGUF files written with gguf.GGUFWriter.

Axial is driven through tests/tokenizer_helper.c; ctest runs this file through
tests/python/run_tokenizer_hf.sh, which sets AXIAL_TOKENIZER_HELPER and AXIAL_TOKENIZER_MODEL.
"""
import glob
import os
import random
import re
import struct
import subprocess
import sys
import sysconfig
import tempfile
import unicodedata

import pytest

gguf = pytest.importorskip("gguf")
tokenizers = pytest.importorskip("tokenizers")
jinja2 = pytest.importorskip("jinja2")
sys.path.insert(0, os.path.dirname(__file__))
import llm_reference  # noqa: E402  (hf_tokenizer)

HELPER = os.environ.get("AXIAL_TOKENIZER_HELPER")
MODEL = os.environ.get("AXIAL_TOKENIZER_MODEL")
if not HELPER or not MODEL:
    pytest.skip("AXIAL_TOKENIZER_HELPER / AXIAL_TOKENIZER_MODEL are not set (ctest's test_tokenizer_hf sets them)",
                allow_module_level=True)

PARSE_SPECIAL, ADD_SPECIAL, SKIP_SPECIAL = 2, 1, 1
AX_OK, AX_ERR_INVALID_ARGUMENT, AX_ERR_UNSUPPORTED, AX_ERR_FORMAT = 0, 1, 2, 5


# ---- the GGUF, read by the gguf package ---------------------------------------------------------

def field(reader, key):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


class Vocab:
    def __init__(self, path):
        r = gguf.GGUFReader(path)
        self.tokens = field(r, "tokenizer.ggml.tokens")
        self.merges = field(r, "tokenizer.ggml.merges")
        self.types = field(r, "tokenizer.ggml.token_type")
        self.template = field(r, "tokenizer.chat_template")
        self.bos = field(r, "tokenizer.ggml.bos_token_id")
        self.eos = field(r, "tokenizer.ggml.eos_token_id")
        self.control = [t for t, ty in zip(self.tokens, self.types) if ty == 3]


@pytest.fixture(scope="module")
def vocab():
    return Vocab(MODEL)


def hf_tokenizer(v, digits=True, specials=True):
    return llm_reference.hf_tokenizer(v.tokens, v.merges, v.control, digits=digits, specials=specials)


def bytes_to_unicode():
    """GPT-2's table (openai/gpt-2 encoder.py), written from its description."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def missing_bytes(v):
    """The bytes whose one-character token the vocabulary lacks."""
    present = set(v.tokens)
    return bytes(b for b, c in bytes_to_unicode().items() if c not in present)


# ---- the helper ---------------------------------------------------------------------------------

def run_helper(cmd, model, payload):
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in"), os.path.join(d, "out")
        with open(src, "wb") as f:
            f.write(payload)
        p = subprocess.run([HELPER, cmd, model, src, dst], capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"tokenizer_helper {cmd} failed: {p.stderr}"
        with open(dst, "rb") as f:
            return f.read(), p.stderr


def ax_encode(model, texts, flags):
    """[(status, ids, decoded bytes)], seconds spent encoding."""
    payload = b"".join(struct.pack("<IQ", flags, len(t)) + t for t in texts)
    out, err = run_helper("encode", model, payload)
    seconds = float(re.search(r"encoded \d+ texts in ([0-9.]+) s", err).group(1))
    res, at = [], 0
    for _ in texts:
        st, n = struct.unpack_from("<iq", out, at)
        at += 12
        ids = list(struct.unpack_from(f"<{n}i", out, at))
        at += 4 * n
        (m,) = struct.unpack_from("<Q", out, at)
        at += 8
        res.append((st, ids, out[at:at + m]))
        at += m
    assert at == len(out)
    return res, seconds


def ax_decode(model, seqs, flags):
    payload = b"".join(struct.pack("<IQ", flags, len(s)) + struct.pack(f"<{len(s)}i", *s) for s in seqs)
    out, _ = run_helper("decode", model, payload)
    res, at = [], 0
    for _ in seqs:
        st, m = struct.unpack_from("<iQ", out, at)
        at += 12
        res.append((st, out[at:at + m]))
        at += m
    return res


def ax_chat(model, convs):
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    payload = b"".join(struct.pack("<II", int(gen), len(msgs)) + b"".join(s(m["role"]) + s(m["content"]) for m in msgs)
                       for msgs, gen in convs)
    out, _ = run_helper("chat", model, payload)
    res, at = [], 0
    for _ in convs:
        st, m = struct.unpack_from("<iQ", out, at)
        at += 12
        res.append((st, out[at:at + m].decode()))
        at += m
    return res


def helper_create(path):
    p = subprocess.run([HELPER, "create", path], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


# ---- the corpus ---------------------------------------------------------------------------------

SCRIPTS = {  # (ranges of letters, ranges of marks) per script
    "greek": ([(0x391, 0x3A9), (0x3B1, 0x3C9), (0x386, 0x38F)], []),
    "cyrillic": ([(0x410, 0x44F), (0x400, 0x40F)], []),
    "arabic": ([(0x621, 0x64A)], [(0x64B, 0x652)]),
    "hebrew": ([(0x5D0, 0x5EA)], [(0x5B0, 0x5BC)]),
    "devanagari": ([(0x905, 0x939)], [(0x93E, 0x94D)]),
    "bengali": ([(0x985, 0x9B9)], [(0x9BE, 0x9CC)]),
    "tamil": ([(0xB85, 0xBB9)], [(0xBBE, 0xBCD)]),
    "thai": ([(0xE01, 0xE30)], [(0xE31, 0xE3A), (0xE47, 0xE4E)]),
    "cjk": ([(0x4E00, 0x9FFF)], []),
    "kana": ([(0x3041, 0x3096), (0x30A1, 0x30FA)], []),
    "hangul": ([(0xAC00, 0xD7A3)], []),
    "armenian": ([(0x531, 0x556), (0x561, 0x586)], []),
    "georgian": ([(0x10D0, 0x10FA)], []),
    "ethiopic": ([(0x1200, 0x1248)], []),
    "latin": ([(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xFF), (0x100, 0x17F)], [(0x300, 0x36F)]),
}
PHRASES = ["Καλημέρα κόσμε", "Привет, мир!", "مرحبا بالعالم", "שָׁלוֹם עוֹלָם", "नमस्ते दुनिया", "你好，世界。",
           "こんにちは世界", "안녕하세요 세계", "สวัสดีชาวโลก", "Grüße aus Köln", "Ça va? Où est l'hôtel?",
           "I'm sure you're right; he'll say it's what we've seen, I'd think. DON'T. O'Neil's",
           "naïve café — “quotes” ‘single’ «guillemets» …", "日本語のテキストと English mixed 123",
           "ﬁ ligature, Ǆ titlecase, ǅ, ß, İstanbul, ΣΑΣ", "e\u0301 a\u0308\u0323 Z\u0351\u0345\u036a"]
EMOJI = ["😀", "👍", "👍🏻", "👍🏿", "👩‍👩‍👧‍👦", "👨🏽‍💻", "🏳️‍🌈", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "🤷‍♀️", "🧑🏾‍🚀",
         "©", "™", "☃", "⌘", "🀄", "🎉🎉🎉", "🐍"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r", "\u00a0", "\u3000",
          "\u2003", "\u2028", "\u2029", "\u0085", "\u200b", "\ufeff", "\x0b", "\x0c", " \n ", "\t \n",
          "\u202f", "\u205f", "\u1680", "\x1c", "\x1d", "\x1e", "\x1f"]
SPECIAL_TEXT = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nHi!<|im_end|>\n",
                "<|im_sta", "<<|im_end|>>", "<|im_start|><|im_end|>", "<jupyter_code>print(1)", "< |im_start| >",
                "<|IM_START|>", "<repo_name>axial<file_sep>", "<filename>a.py", "x<|endoftext|>y", "<|im_end|> "]


def prose_lines():
    lines = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                lines.extend(line.rstrip("\n") for line in f)
    return [line for line in lines if line.strip()]


def code_lines():
    stdlib = sysconfig.get_paths()["stdlib"]
    lines = []
    for path in sorted(glob.glob(os.path.join(stdlib, "*.py")))[:60]:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines.extend(line.rstrip("\n") for line in f)
    return lines


def assigned_code_points():
    """Every code point assigned in Python's Unicode version, but surrogates and private use."""
    return [c for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co")]


def rand_from(rng, ranges):
    lo, hi = rng.choice(ranges)
    return chr(rng.randint(lo, hi))


def script_word(rng, script):
    letters, marks = SCRIPTS[script]
    w = []
    for _ in range(rng.randint(1, 8)):
        w.append(rand_from(rng, letters))
        if marks and rng.random() < 0.3:
            w.append(rand_from(rng, marks))
    return "".join(w)


def number(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return str(rng.randint(0, 10 ** rng.randint(1, 15)))
    if kind == 1:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 6)}f}"
    if kind == 2:
        return f"{rng.randint(0, 10**9):,}"
    if kind == 3:
        return f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if kind == 4:
        return hex(rng.randint(0, 2**32))
    if kind == 5:
        return "".join(chr(0x660 + rng.randint(0, 9)) for _ in range(rng.randint(1, 5)))  # Arabic-Indic
    if kind == 6:
        return "".join(chr(0xFF10 + rng.randint(0, 9)) for _ in range(rng.randint(1, 5)))  # fullwidth
    return rng.choice(["½", "²³", "Ⅻ", "ⅷ", "①②", "𝟙𝟚", "¾", "٣.١٤", "१२३", "๓๔"])


def mixed_line(rng, pieces):
    return "".join(rng.choice(pieces)() for _ in range(rng.randint(1, 12)))


def build_corpus():
    rng = random.Random(20261203)
    corpus = []
    prose, code = prose_lines(), code_lines()
    corpus += rng.sample(prose, min(2500, len(prose)))
    corpus += code[:2500]
    scripts = list(SCRIPTS)
    word = lambda: script_word(rng, rng.choice(scripts))  # noqa: E731
    gens = [word, word, lambda: " ", lambda: rng.choice(SPACES), lambda: number(rng), lambda: rng.choice(EMOJI),
            lambda: rng.choice(PHRASES), lambda: rng.choice(".,;:!?-'\"()[]{}<>/\\|@#$%^&*_=+~`"),
            lambda: rng.choice(SPECIAL_TEXT), lambda: rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S"]),
            lambda: chr(rng.randint(0, 0x1F)), lambda: chr(rng.randint(0x7F, 0x9F))]
    corpus += [mixed_line(rng, gens) for _ in range(3000)]
    corpus += [rng.choice(SPACES) * rng.randint(1, 4) + word() + rng.choice(SPACES) * rng.randint(1, 4)
               for _ in range(500)]
    corpus += PHRASES + EMOJI + SPACES + SPECIAL_TEXT
    corpus += ["".join(rng.choice(EMOJI) + rng.choice(["", " ", "\u200d"]) for _ in range(rng.randint(1, 6)))
               for _ in range(300)]
    corpus += [" ".join(number(rng) for _ in range(rng.randint(1, 5))) for _ in range(500)]
    # the sweep: every assigned code point once, in random order, beside random neighbours
    cps = assigned_code_points()
    rng.shuffle(cps)
    glue = ["", "", "", " ", "a", "1", "'", "\n", ".", "  "]
    for i in range(0, len(cps), 40):
        corpus.append("".join(chr(c) + rng.choice(glue) for c in cps[i:i + 40]))
    # private use, noncharacters and code points unassigned in every Unicode version are "other" everywhere
    corpus += ["\ue000\uf8ff \U000F0000x\U0010FFFD1 \ufffe\uffff\u0378\U000E0001 a\U0002FFFFb"]
    corpus += ["", " ", "a" * 3000, " " * 2000, "ab" * 1500 + "\n" * 100, "1" * 500, "'s" * 200]
    return corpus


@pytest.fixture(scope="module")
def corpus():
    return build_corpus()


def first_mismatches(texts, got, want, limit=5):
    bad = [(i, texts[i], got[i], want[i]) for i in range(len(texts)) if got[i] != want[i]]
    report = "\n".join(f"  line {i}: {t!r}\n    axial {g[:40]}\n    hf    {w[:40]}" for i, t, g, w in bad[:limit])
    return len(bad), report


# ---- tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("parse_special", [False, True])
def test_ids_match_hf_tokenizers(vocab, corpus, parse_special):
    assert len(corpus) >= 10000
    tk = hf_tokenizer(vocab, specials=parse_special)
    want = [e.ids for e in tk.encode_batch(corpus, add_special_tokens=False)]
    data = [t.encode("utf-8") for t in corpus]
    res, seconds = ax_encode(MODEL, data, PARSE_SPECIAL if parse_special else 0)
    assert all(st == AX_OK for st, _, _ in res)
    got = [ids for _, ids, _ in res]
    n_bad, report = first_mismatches(corpus, got, want)
    assert n_bad == 0, f"{n_bad} of {len(corpus)} lines differ from HF tokenizers:\n{report}"
    # bytes without a token in the vocabulary are dropped (as HF does): the rest must come back
    missing = missing_bytes(vocab)
    n_rt = sum(dec == src.translate(None, missing) for (_, _, dec), src in zip(res, data))
    assert n_rt == len(data), "decode(encode(x)) != x"
    n_exact = sum(dec == src for (_, _, dec), src in zip(res, data))
    n_tok = sum(len(x) for x in got)
    print(f"\n{len(corpus)} lines, {sum(map(len, data))} bytes, {n_tok} tokens: identical to HF tokenizers "
          f"(parse_special={parse_special}); {n_exact} decode to exactly their bytes, the others lack only bytes "
          f"{missing.hex(' ')} that have no token; encoded in {seconds:.3f} s (reported, not asserted: speed is "
          f"for bench/, never a test)")


@pytest.mark.parametrize("pre,digits", [("gpt-2", False), ("phi-2", False), ("mellum", False), ("starcoder", True),
                                        ("refact", True)])
def test_other_pretokenizer_names_match_hf(vocab, corpus, tmp_path, pre, digits):
    """The same vocabulary under the other tokenizer.ggml.pre names llama.cpp gives the two rules:
    "gpt-2" and its kin are HF's ByteLevel regex alone; "starcoder" and "refact" split digits first,
    as "smollm" does."""
    path = str(tmp_path / "other.gguf")
    write_gguf(path, vocab.tokens, vocab.merges, vocab.types, pre=pre)
    tk = hf_tokenizer(vocab, digits=digits, specials=False)
    sample = corpus[::3]
    want = [e.ids for e in tk.encode_batch(sample, add_special_tokens=False)]
    res, _ = ax_encode(path, [t.encode() for t in sample], 0)
    n_bad, report = first_mismatches(sample, [ids for _, ids, _ in res], want)
    assert n_bad == 0, f"{n_bad} of {len(sample)} lines differ:\n{report}"


def invalid_utf8_lines(rng):
    bad = [b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3", b"\xc3\x28", b"\xe2\x28\xa1"]
    good = [b"a", b" ", b"word", b" x", b"1", b"23", b"!", b"\n", "é".encode(), "😀".encode(), b"'s", b"  ", b"\t"]
    lines = []
    for _ in range(400):
        parts = [rng.choice(bad if rng.random() < 0.4 else good) for _ in range(rng.randint(1, 10))]
        lines.append(b"".join(parts))
    lines += [bytes(range(256)), bytes(range(255, -1, -1)), b"\x80" * 50, b"\xe2\x82" * 20 + b"\xac"]
    return lines


def hf_reference_invalid(tk_pre, tk_model, table, line):
    """HF's pre-tokenizer on the text with each bad byte as U+FFFD, then HF's BPE on original bytes."""
    chars, raw = [], []
    for ch in line.decode("utf-8", errors="surrogateescape"):
        if "\udc80" <= ch <= "\udcff":
            chars.append("\ufffd")
            raw.append(bytes([ord(ch) - 0xDC00]))
        else:
            chars.append(ch)
            raw.append(ch.encode("utf-8"))
    pieces = tk_pre.pre_tokenize_str("".join(chars))
    ids, covered = [], 0
    for _, (a, b) in pieces:
        assert a == covered
        covered = b
        piece = "".join(table[x] for x in b"".join(raw[a:b]))
        ids += [t.id for t in tk_model.tokenize(piece)]
    assert covered == len(chars)
    return ids


def test_invalid_utf8(vocab):
    rng = random.Random(7)
    lines = invalid_utf8_lines(rng)
    tk = hf_tokenizer(vocab, specials=False)
    table = bytes_to_unicode()
    want = [hf_reference_invalid(tk.pre_tokenizer, tk.model, table, line) for line in lines]
    res, _ = ax_encode(MODEL, lines, PARSE_SPECIAL)
    got = [ids for _, ids, _ in res]
    n_bad, report = first_mismatches(lines, got, want)
    assert n_bad == 0, f"{n_bad} of {len(lines)} invalid-UTF-8 lines differ:\n{report}"
    missing = missing_bytes(vocab)
    assert all(dec == src.translate(None, missing) for (_, _, dec), src in zip(res, lines))


def test_token_bytes_and_skip_special(vocab):
    table = {v: k for k, v in bytes_to_unicode().items()}
    seqs = [[t] for t in range(len(vocab.tokens))]
    res = ax_decode(MODEL, seqs, 0)
    for t, (st, got) in enumerate(res):
        s = vocab.tokens[t]
        want = s.encode() if vocab.types[t] == 3 else bytes(table[c] for c in s)
        assert st == AX_OK and got == want, f"token {t} {s!r}: {got!r} != {want!r}"
    tk = hf_tokenizer(vocab)
    texts = ["<|im_start|>user\nHello, wörld 😀<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>x<|im_end|>"]
    seqs = [e.ids for e in tk.encode_batch(texts, add_special_tokens=False)]
    for (st, got), ids in zip(ax_decode(MODEL, seqs, SKIP_SPECIAL), seqs):
        assert st == AX_OK and got == tk.decode(ids, skip_special_tokens=True).encode()
    st, _ = ax_decode(MODEL, [[0, len(vocab.tokens)]], 0)[0]
    assert st == AX_ERR_INVALID_ARGUMENT


def render_template(template, messages, add_generation_prompt):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # as transformers' apply_chat_template
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt)


def test_chat_template_matches_jinja(vocab):
    convs = [
        [{"role": "user", "content": "Hi!"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}],
        [{"role": "system", "content": "S"}, {"role": "user", "content": "line1\nline2 ünï 😀"},
         {"role": "assistant", "content": "4"}, {"role": "user", "content": "and 3+3?"}],
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}],
        [{"role": "assistant", "content": "first"}, {"role": "system", "content": "late system"}],
        [],
    ]
    cases = [(c, g) for c in convs for g in (False, True)]
    got = ax_chat(MODEL, cases)
    for (msgs, gen), (st, text) in zip(cases, got):
        assert st == AX_OK
        assert text == render_template(vocab.template, msgs, gen), f"{msgs} gen={gen}"


# ---- small GGUF files: errors, flags ------------------------------------------------------------

TINY_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [bytes_to_unicode()[b] for b in range(256)] + \
              ["ab", "abc", "Ġa"]
TINY_MERGES = ["a b", "ab c", "Ġ a"]


def write_gguf(path, tokens, merges, types, pre="smollm", model="gpt2", extra=None, skip=()):
    w = gguf.GGUFWriter(path, "llama")
    if "model" not in skip:
        w.add_tokenizer_model(model)
    if "pre" not in skip:
        w.add_tokenizer_pre(pre)
    if "tokens" not in skip:
        w.add_token_list(tokens)
    if "merges" not in skip:
        w.add_token_merges(merges)
    if "types" not in skip:
        w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    for k, v in (extra or {}).items():
        if isinstance(v, bool):
            w.add_bool(k, v)
        elif isinstance(v, int):
            w.add_uint32(k, v)
        else:
            w.add_string(k, v)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tiny(tmp_path, name, **kw):
    path = str(tmp_path / f"{name}.gguf")
    types = kw.pop("types", [3, 3, 3] + [1] * (len(TINY_TOKENS) - 3))
    write_gguf(path, kw.pop("tokens", TINY_TOKENS), kw.pop("merges", TINY_MERGES), types, **kw)
    return path


@pytest.mark.parametrize("name,kw,status,words", [
    ("no_tokens", {"skip": ("tokens",)}, "AX_ERR_FORMAT", ["tokenizer.ggml.tokens", "missing"]),
    ("no_merges", {"skip": ("merges",)}, "AX_ERR_FORMAT", ["tokenizer.ggml.merges", "missing"]),
    ("no_model", {"skip": ("model",)}, "AX_ERR_FORMAT", ["tokenizer.ggml.model", "missing"]),
    ("llama_model", {"model": "llama"}, "AX_ERR_UNSUPPORTED", ["tokenizer.ggml.model", "'llama'", "gpt2"]),
    ("unknown_pre", {"pre": "qwen2"}, "AX_ERR_UNSUPPORTED", ["tokenizer.ggml.pre", "'qwen2'", "smollm"]),
    ("no_pre", {"skip": ("pre",)}, "AX_ERR_FORMAT", ["tokenizer.ggml.pre", "missing"]),
    ("bad_merge", {"merges": ["a b", "abc"]}, "AX_ERR_FORMAT", ["tokenizer.ggml.merges[1]", "'abc'"]),
    ("bad_types", {"types": [1, 1]}, "AX_ERR_FORMAT", ["tokenizer.ggml.token_type", "2 entries"]),
    ("bad_eot", {"extra": {"tokenizer.ggml.eot_token_id": 5000}}, "AX_ERR_FORMAT",
     ["tokenizer.ggml.eot_token_id", "5000", "outside"]),
    ("pre_not_string", {"skip": ("pre",), "extra": {"tokenizer.ggml.pre": 3}}, "AX_ERR_FORMAT",
     ["tokenizer.ggml.pre", "uint32", "string"]),
])
def test_create_errors(tmp_path, name, kw, status, words):
    path = tiny(tmp_path, name, **kw)
    out = helper_create(path)
    assert out.startswith(status + ":"), out
    assert path in out, out
    for w in words:
        assert w in out, f"{out!r} lacks {w!r}"


def test_tiny_vocab_flags_and_merges(tmp_path):
    path = tiny(tmp_path, "flags", extra={"tokenizer.ggml.add_bos_token": True, "tokenizer.ggml.add_eos_token": True})
    assert helper_create(path) == "OK"
    base = 3
    byte = lambda c: base + ord(c)  # noqa: E731 (the tiny vocabulary's byte tokens, in byte order)
    res, _ = ax_encode(path, [b"abc", b"abc", b" ab", b"<|im_end|>", b"<|im_end|>"],
                       0)
    assert res[0][1] == [base + 256 + 1]                       # a b -> ab, ab c -> abc
    assert res[2][1] == [byte(" "), base + 256]                # a b (rank 0) before Ġ a (rank 2)
    assert res[3][1] != [2]                                    # not parsed as special without the flag
    res, _ = ax_encode(path, [b"abc", b"<|im_end|>"], ADD_SPECIAL | PARSE_SPECIAL)
    assert res[0][1] == [1, base + 256 + 1, 2]
    assert res[1][1] == [1, 2, 2]
    p = subprocess.run([HELPER, "info", path], capture_output=True, text=True, check=True)
    lines = p.stdout.split("\n")
    assert lines[0] == f"{len(TINY_TOKENS)} 1 2 1 1"
    assert "2 1 1" in lines and "1 1 0" in lines   # <|im_end|> ends generation, <|im_start|> does not


def test_chat_unsupported_template(tmp_path):
    path = tiny(tmp_path, "llama2chat", extra={"tokenizer.chat_template": "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"})
    (st, _), = ax_chat(path, [([{"role": "user", "content": "x"}], True)])
    assert st == AX_ERR_UNSUPPORTED
    path = tiny(tmp_path, "notemplate")
    (st, _), = ax_chat(path, [([{"role": "user", "content": "x"}], True)])
    assert st == AX_ERR_UNSUPPORTED
