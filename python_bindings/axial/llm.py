"""LLM inference on GGUF files (``include/axial/llm.h``): a Llama-family decoder on Axial's kernels, its
byte-level BPE tokenizer and ChatML chat template, greedy and sampled generation (streamed or not),
and the logits of every position for analysis.

The library never downloads a model: ``scripts/fetch-model.sh`` in the repository installs
SmolLM2-135M-Instruct (Q4_1) and prints its path; pass it, or set ``AXIAL_MODEL``.

Example::

    from axial.llm import Model
    m = Model()                      # AXIAL_MODEL, on the CPU with every core
    print(m.generate("The capital of France is", max_tokens=16))
    for piece in m.chat([{"role": "user", "content": "Hi!"}], stream=True):
        print(piece, end="")
"""
from __future__ import annotations

import codecs
import math
import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _axial
from ._attention import _parse_device
from .errors import FileError, InvalidArgumentError

__all__ = ["Model"]

_ADD_SPECIAL = 1
_PARSE_SPECIAL = 2
_SKIP_SPECIAL = 1
# The repetition penalty looks at this many of the last tokens (prompt included), as llama.cpp's
# default penalty_last_n.
_PENALTY_LAST_N = 64


def _ids_array(ids: Any) -> np.ndarray:
    raw = np.asarray(ids)
    # Floats, strings and bools are not ids (they had been cast: [1.7] read as token 1, ["5"] as 5),
    # nor is a 2-D array (it had been flattened).
    if raw.ndim > 1:
        raise InvalidArgumentError(f"tokens: expected a flat sequence of ids, got shape {raw.shape}", 1)
    if raw.size and raw.dtype.kind not in "iu":
        raise InvalidArgumentError(f"tokens: ids must be integers, got {raw.dtype}", 1)
    a = np.ascontiguousarray(raw, dtype=np.int64).reshape(-1)
    if a.size and (a.min() < -2**31 or a.max() >= 2**31):
        raise InvalidArgumentError("tokens: ids outside the int32 range", 1)
    return a.astype(np.int32)


def _message_pairs(messages: Sequence[Mapping[str, str]]) -> List[Tuple[str, str]]:
    pairs: List[Tuple[str, str]] = []
    for i, m in enumerate(messages):
        try:
            pairs.append((m["role"], m["content"]))
        except (KeyError, TypeError):
            raise InvalidArgumentError(f"messages[{i}]: expected a dict with 'role' and 'content'", 1) from None
    return pairs



def random_seed() -> int:
    """A fresh 64-bit seed from the system's entropy: the default of every sampling call, so two
    calls at a temperature above 0 give different text unless a seed is passed."""
    return int.from_bytes(os.urandom(8), "little")

class Model:
    """A GGUF model loaded for inference (``ax_llm_model_load``).

    Args:
        path: the .gguf file; ``None`` reads the environment variable ``AXIAL_MODEL``.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:1"`` (the weights are uploaded once).
        threads: CPU threads (``<= 0`` = all cores).

    Raises:
        FileError: no path and no ``AXIAL_MODEL``, or the file cannot be read.
        FormatError: the file is not a GGUF the runner understands (the message names the tensor or key).
        UnsupportedError: an architecture other than Llama, or CUDA without a CUDA build.

    The model is read-only once loaded and may be used from several threads at once: every
    :meth:`generate`, :meth:`chat` and :meth:`logits` call runs in a session (KV cache) of its own.
    """

    def __init__(self, path: Optional[Union[str, "os.PathLike[str]"]] = None, device: str = "cpu",
                 threads: int = 0) -> None:
        if path is None:
            path = os.environ.get("AXIAL_MODEL") or None
            if path is None:
                raise FileError("model: no path given and AXIAL_MODEL is not set; scripts/fetch-model.sh installs "
                                "SmolLM2-135M-Instruct and prints its path: pass it, or set AXIAL_MODEL to it", 4)
        self.path = os.fspath(path)
        self.device = _parse_device(device)
        kind, index = self.device
        self._capsule = _axial.llm_load(self.path, 1 if kind == "cuda" else 0, index, int(threads))
        self._info = _axial.llm_info(self._capsule)

    @property
    def info(self) -> Dict[str, Any]:
        """The model's hyperparameters (``ax_llm_model_info``): architecture, name, n_layer, n_embd,
        n_ff, n_head, n_head_kv, head_dim, n_ctx_train, n_vocab, rope_base, rms_eps, bos_id, eos_id,
        add_bos, add_eos, weight_bytes, n_expert, n_expert_used (0 and 0 for a dense model);
        plus path and device."""
        d = dict(self._info)
        d["path"] = self.path
        d["device"] = "cpu" if self.device[0] == "cpu" else f"cuda:{self.device[1]}"
        return d

    def __repr__(self) -> str:
        return f"axial.llm.Model({self._info['name'] or self.path!r}, device={self.info['device']!r})"

    # ---- tokenizer ---------------------------------------------------------------------------------

    def tokenize(self, text: Union[str, bytes], add_special: bool = True, parse_special: bool = True) -> List[int]:
        """Token ids of ``text`` (``ax_llm_tokenize``). ``add_special`` adds BOS/EOS as the file asks;
        ``parse_special`` turns the text of control tokens (``"<|im_start|>"``) into those tokens (a
        user-defined token's text is that token either way, as in HF and llama.cpp)."""
        flags = (_ADD_SPECIAL if add_special else 0) | (_PARSE_SPECIAL if parse_special else 0)
        return _axial.llm_tokenize(self._capsule, text, flags)

    def detokenize_bytes(self, ids: Sequence[int], skip_special: bool = False) -> bytes:
        """The bytes of ``ids`` (``ax_llm_detokenize``); a token's bytes may end inside a UTF-8
        character, so the pieces of a stream concatenate to the bytes of the whole."""
        return _axial.llm_detokenize(self._capsule, _ids_array(ids), _SKIP_SPECIAL if skip_special else 0)

    def detokenize(self, ids: Sequence[int], skip_special: bool = False) -> str:
        """The text of ``ids``; bytes that are not valid UTF-8 become U+FFFD. ``skip_special`` drops
        control tokens (BOS, EOS, ``<|im_start|>``, ...)."""
        return self.detokenize_bytes(ids, skip_special).decode("utf-8", errors="replace")

    def is_end(self, token: int) -> bool:
        """True if generation stops at ``token`` (EOS, EOT, or ``<|im_end|>`` for ChatML models)."""
        return bool(_axial.llm_token_is_end(self._capsule, int(token)))

    def chat_prompt(self, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = True) -> str:
        """A conversation rendered with the model's chat template (``ax_llm_chat_apply``, ChatML).

        Args:
            messages: ``[{"role": "user", "content": "..."}, ...]``.
            add_generation_prompt: end with the opening of the assistant's turn.
        """
        return _axial.llm_chat_apply(self._capsule, _message_pairs(messages), bool(add_generation_prompt))

    def chat_tokenize(self, messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = True,
                      parse_special: bool = False) -> List[int]:
        """The conversation of :meth:`chat_prompt` as token ids (``ax_llm_chat_tokenize``): the
        template's markup becomes control tokens, each message's role and content plain text (so
        ``<|im_end|>`` written inside a message stays text) unless ``parse_special``. Without such text
        in the messages, equal to ``tokenize(chat_prompt(messages))``. BOS as :meth:`tokenize` adds it."""
        flags = _ADD_SPECIAL | (_PARSE_SPECIAL if parse_special else 0)
        return _axial.llm_chat_tokenize(self._capsule, _message_pairs(messages), bool(add_generation_prompt), flags)

    # ---- evaluation --------------------------------------------------------------------------------

    def logits(self, ids: Sequence[int]) -> np.ndarray:
        """Float32 logits ``(n, n_vocab)`` after each of the ``n`` tokens ``ids`` (one forward pass on an
        empty cache; row i predicts token i + 1)."""
        a = _ids_array(ids)
        if a.size == 0:
            raise InvalidArgumentError("ids: no tokens to evaluate", 1)
        session = _axial.llm_session_create(self._capsule, int(a.size), 0)
        _axial.llm_session_eval(session, a, True)
        out = np.empty((a.size, self._info["n_vocab"]), dtype=np.float32)
        _axial.llm_session_logits(session, 0, int(a.size), out)
        return out

    def generate_tokens(self, ids: Sequence[int], max_tokens: int = 128, temperature: float = 0.0, top_k: int = 0,
                        top_p: float = 1.0, min_p: float = 0.0, repeat_penalty: float = 1.0,
                        seed: Optional[int] = None) -> Iterator[Tuple[int, float]]:
        """An iterator of ``(token, probability)`` for up to ``max_tokens`` tokens following the prompt
        ``ids``, stopping before an end token (:meth:`is_end`) or when the context is full. The prompt
        is evaluated and the first token drawn before this returns, so errors raise here.

        Sampling is ``ax_sample``'s (``include/axial/sampling.h``): ``temperature`` 0 is greedy; else
        ``top_k`` (0 = off), ``top_p`` (1 = off), ``min_p`` (0 = off), ``repeat_penalty`` over the last
        64 tokens (1 = off), and a draw that depends only on ``(seed, index of the token)``, so the
        same seed gives the same text; None (the default) draws a fresh seed per call, as ``axial
        generate`` and the server do. ``probability`` is the chosen token's after the filters.
        """
        prompt = _ids_array(ids)
        if prompt.size == 0:
            raise InvalidArgumentError("prompt: no tokens (empty text and the model adds no BOS)", 1)
        max_tokens = int(max_tokens)
        if max_tokens < 0:
            raise InvalidArgumentError(f"max_tokens: {max_tokens} is negative", 1)
        # At most the training context, unless the prompt alone fills it (then one slot past it): one
        # rule for every prompt length (a prompt of n_ctx_train - 1 tokens had been capped, one of
        # n_ctx_train not).
        n_ctx = min(prompt.size + max_tokens, max(self._info["n_ctx_train"], prompt.size + 1))
        if max_tokens == 0:
            # Nothing to generate, but the same errors as any other call (they had been skipped).
            self._check_request(prompt, temperature, top_p, min_p, repeat_penalty)
            return iter(())
        # The prompt and the first draw run now, so a bad prompt or bad settings raise here, not at
        # the first next() of a stream.
        session = _axial.llm_session_create(self._capsule, int(n_ctx), 0)
        _axial.llm_session_eval(session, prompt, False)
        settings = (random_seed() if seed is None else int(seed), float(temperature), int(top_k), float(top_p),
                    float(min_p), float(repeat_penalty))
        first = self._sample(session, settings, 0)
        return self._continue(session, settings, first, max_tokens, n_ctx)

    def _check_request(self, prompt: np.ndarray, temperature: float, top_p: float, min_p: float,
                       repeat_penalty: float) -> None:
        """The checks the session's eval and ax_sample make (sampling.h), for a call that runs neither."""
        V = self._info["n_vocab"]
        bad = np.flatnonzero((prompt < 0) | (prompt >= V))
        if bad.size:
            raise InvalidArgumentError(f"tokens[{bad[0]}]: id {prompt[bad[0]]}, expected an id in [0, {V})", 1)
        t, p, mp, rp = float(temperature), float(top_p), float(min_p), float(repeat_penalty)
        if not (t >= 0.0 and math.isfinite(t)):
            raise InvalidArgumentError(f"temperature: {t}, expected 0 (greedy) or a finite value > 0", 1)
        if not 0.0 < p <= 1.0:
            raise InvalidArgumentError(f"top_p: {p}, expected a value in (0, 1]", 1)
        if not 0.0 <= mp <= 1.0:
            raise InvalidArgumentError(f"min_p: {mp}, expected a value in [0, 1]", 1)
        if not (rp > 0.0 and math.isfinite(rp)):
            raise InvalidArgumentError(f"repeat_penalty: {rp}, expected a finite value > 0", 1)

    def _sample(self, session: Any, settings: Tuple[Any, ...], i: int) -> Tuple[int, float]:
        seed, temperature, top_k, top_p, min_p, repeat_penalty = settings
        last_n = _PENALTY_LAST_N if repeat_penalty != 1.0 else 0
        return _axial.llm_session_sample(session, seed, i, temperature, top_k, top_p, min_p, repeat_penalty, 0.0, 0.0,
                                         last_n)

    def _continue(self, session: Any, settings: Tuple[Any, ...], first: Tuple[int, float], max_tokens: int,
                  n_ctx: int) -> Iterator[Tuple[int, float]]:
        token, prob = first
        one = np.empty(1, dtype=np.int32)
        for i in range(max_tokens):
            if i > 0:
                token, prob = self._sample(session, settings, i)
            if self.is_end(token):
                return
            yield token, prob
            # The last token is not evaluated: nothing would read its logits.
            if i + 1 == max_tokens or _axial.llm_session_position(session) >= n_ctx:
                return
            one[0] = token
            _axial.llm_session_eval(session, one, False)

    def generate(self, prompt: Union[str, bytes, bytearray, Sequence[int]], max_tokens: int = 128,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0,
                 repeat_penalty: float = 1.0, seed: Optional[int] = None,
                 stream: bool = False) -> Union[str, Iterator[str]]:
        """The continuation of ``prompt`` (text, tokenized with special tokens parsed and BOS added
        as the file asks; or token ids), as :meth:`generate_tokens` samples it.

        Returns:
            the text (control tokens dropped), or with ``stream=True`` an iterator of pieces of it,
            one per token that completes text: bytes of an unfinished UTF-8 character are held back
            until the character is whole, so every piece is valid text and the pieces join to the
            text ``stream=False`` returns.
        """
        if isinstance(prompt, bytearray):  # text bytes, as bytes are (not token ids)
            prompt = bytes(prompt)
        ids = self.tokenize(prompt) if isinstance(prompt, (str, bytes)) else list(prompt)
        tokens = self.generate_tokens(ids, max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, seed)
        if stream:
            return self._stream(tokens)
        return self.detokenize([t for t, _ in tokens], skip_special=True)

    def _stream(self, tokens: Iterator[Tuple[int, float]]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for token, _ in tokens:
            piece = decoder.decode(self.detokenize_bytes([token], skip_special=True))
            if piece:
                yield piece
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    def chat(self, messages: Sequence[Mapping[str, str]], max_tokens: int = 128, temperature: float = 0.0,
             top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0, repeat_penalty: float = 1.0,
             seed: Optional[int] = None, stream: bool = False) -> Union[str, Iterator[str]]:
        """The assistant's reply to ``messages`` (``[{"role", "content"}, ...]``, tokenized by
        :meth:`chat_tokenize`: markup inside a message stays text), generated as :meth:`generate`
        does; it ends at ``<|im_end|>``."""
        return self.generate(self.chat_tokenize(messages, True), max_tokens, temperature, top_k, top_p, min_p,
                             repeat_penalty, seed, stream)
