"""An LLM serving engine (``include/axial/serving.h``): many requests on one loaded model, batched
continuously (Dynamic SplitFuse, prefill-first or static batches) over a blocked KV cache whose
prompt-prefix blocks are shared between requests, with per-request sampling and stop conditions.

Example::

    from axial.llm import Model
    from axial.serving import Engine

    with Engine(Model()) as eng:                       # the engine's own thread steps
        req = eng.submit("The capital of France is", max_tokens=16)
        for ev in req:                                 # blocking; or `async for ev in req`
            print(ev.text, end="")
        print(req.result().finish_reason)              # "stop", "length", "cancelled" or "error"

Threads: :meth:`Engine.submit`, :meth:`Request.cancel` and :meth:`Engine.stats` may be called from any
thread; waiting (iteration, :meth:`Request.result`, :meth:`Engine.step`) releases the GIL. One
consumer reads a request's events (a second one waits for the first).
"""
from __future__ import annotations

import asyncio
import collections
import operator
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Deque, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _axial
from .errors import AxialError, InvalidArgumentError, _integer, _number
from .llm import Model, _ids_array, random_seed

__all__ = ["Completion", "Engine", "Event", "POLICIES", "Request"]

#: The scheduler policies (``ax_serving_policy_name``).
POLICIES = ("splitfuse", "prefill-first", "static")

# A blocking wait is cut into polls this long, so that Ctrl-C (KeyboardInterrupt, raised between two
# C calls) and Engine.close() (which waits for calls in flight) are never held up longer.
_POLL_MS = 100
# asyncio iteration polls without waiting and sleeps between polls, from the first to the last delay
# (doubling): a token every few milliseconds is seen at once, an idle request costs ~100 wake-ups/s.
_ASYNC_FIRST_DELAY = 0.0005
_ASYNC_LAST_DELAY = 0.01
_NOTHING = object()


@dataclass(frozen=True)
class Event:
    """What a request produced since its previous event (``ax_serving_event``).

    Attributes:
        tokens: new generated token ids (an end token that stops generation is one of them).
        probs: the probability each new token was drawn with.
        text: new text, whole UTF-8 characters only; end tokens give none, and a stop string and what
            follows it are never sent (text that could start a stop string waits until it cannot).
        finish_reason: ``None`` until the last event, then ``"stop"`` (an end token, a stop token or a
            stop string), ``"length"`` (``max_tokens`` or a full context), ``"cancelled"``
            (:meth:`Request.cancel` or :meth:`Engine.close`) or ``"error"`` (the forward failed;
            ``text`` holds the message).
        prompt_tokens: prompt length in tokens.
        cached_tokens: prompt tokens whose KV came from another request's shared prefix blocks.
        completion_tokens: tokens generated so far.
        queue_seconds: submit to admission.
        first_token_seconds: submit to the first generated token (0 before it).
    """

    tokens: List[int]
    text: str
    finish_reason: Optional[str]
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    queue_seconds: float
    first_token_seconds: float
    probs: List[float] = field(default_factory=list)


@dataclass(frozen=True)
class Completion:
    """A finished request: every token and the whole text (:meth:`Request.result`).

    Attributes:
        text: the generated text (what the events' ``text`` joins to, without an ``"error"`` event's
            message).
        tokens: every generated token id; ``probs`` their probabilities.
        finish_reason: ``"stop"``, ``"length"``, ``"cancelled"`` or ``"error"`` (see :class:`Event`).
        prompt_tokens, cached_tokens, completion_tokens, queue_seconds, first_token_seconds: as the
            last :class:`Event` reported them.
        error: with ``finish_reason == "error"``, the message of why the forward failed; else None.
    """

    text: str
    tokens: List[int]
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    queue_seconds: float
    first_token_seconds: float
    probs: List[float] = field(default_factory=list)
    error: Optional[str] = None


def _event(raw: Tuple[Any, ...]) -> Event:
    tokens, probs, text, finish, prompt, cached, completion, queue_s, first_s = raw
    return Event(tokens=tokens, text=text, finish_reason=finish, prompt_tokens=prompt, cached_tokens=cached,
                 completion_tokens=completion, queue_seconds=queue_s, first_token_seconds=first_s, probs=probs)


class Request:
    """A submitted request (:meth:`Engine.submit`); iterate it for its :class:`Event` s.

    ``for ev in req`` blocks (the GIL is released while it waits; Ctrl-C interrupts it);
    ``async for ev in req`` never blocks the event loop. Each event is delivered once; the last one
    has a ``finish_reason``. :meth:`result` waits for the end and returns the whole
    :class:`Completion`, whether or not the events were iterated. When the engine is closed, a request
    that had not finished ends with ``"cancelled"``. A request dropped (garbage-collected) before its
    last event was read is cancelled, and freed in the engine at a later :meth:`Engine.submit`.

    Attributes:
        id: the engine's id of the request (> 0).
    """

    def __init__(self, engine: "Engine", request_id: int) -> None:
        self._engine = engine
        self.id = request_id
        # One poller at a time (ax_serving_poll's rule); the lock also guards the fields below.
        self._lock = threading.Lock()
        self._pending: Deque[Event] = collections.deque()
        self._tokens: List[int] = []
        self._probs: List[float] = []
        self._text: List[str] = []
        self._error: Optional[str] = None
        self._last: Optional[Event] = None
        self._finish: Optional[str] = None
        # The engine frees a polled request only when its last event is polled: one dropped before
        # that is handed back to the engine to cancel and drain (Engine._reap).
        self._finalizer = weakref.finalize(self, engine._orphan, request_id)

    def __repr__(self) -> str:
        state = self._finish or "running"
        return f"axial.serving.Request(id={self.id}, {state}, {len(self._tokens)} tokens)"

    # ---- polling (with self._lock held) --------------------------------------------------------------

    def _fetch(self, timeout_ms: int) -> None:
        """Polls once and queues what came; the request must not have finished."""
        engine = self._engine
        try:
            if engine._closed:
                raise InvalidArgumentError("engine: closed (Engine.close was called)", 1)
            ev = _event(_axial.serving_poll(engine._capsule, self.id, timeout_ms))
        except AxialError:
            if not engine._closed:
                raise
            # ax_serving_free ended the request with "cancelled" and forgot it: say so here.
            last = self._last
            ev = Event(tokens=[], text="", finish_reason="cancelled",
                       prompt_tokens=last.prompt_tokens if last else 0,
                       cached_tokens=last.cached_tokens if last else 0,
                       completion_tokens=len(self._tokens), queue_seconds=last.queue_seconds if last else 0.0,
                       first_token_seconds=last.first_token_seconds if last else 0.0)
        if not (ev.tokens or ev.text or ev.finish_reason) and self._last is not None:
            return  # a wait that ended with nothing new
        self._tokens.extend(ev.tokens)
        self._probs.extend(ev.probs)
        if ev.finish_reason == "error":
            self._error = ev.text  # the message, not generated text
        elif ev.text:
            self._text.append(ev.text)
        self._last = ev
        if ev.finish_reason is not None:
            self._finish = ev.finish_reason
            self._finalizer.detach()
        if ev.tokens or ev.text or ev.finish_reason:
            self._pending.append(ev)

    def _next(self, block: bool) -> Any:
        """The next event; None when every event has been delivered; _NOTHING when not blocking and
        nothing has come (or another thread is polling)."""
        while True:
            if not self._lock.acquire(blocking=block):
                return _NOTHING
            try:
                if not self._pending and self._finish is None:
                    self._fetch(_POLL_MS if block else 0)
                if self._pending:
                    return self._pending.popleft()
                if self._finish is not None:
                    return None
            finally:
                self._lock.release()
            if not block:
                return _NOTHING

    # ---- public --------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        """The events, blocking until each comes; ends after the event with a ``finish_reason``."""
        while True:
            ev = self._next(True)
            if ev is None:
                return
            yield ev

    async def __aiter__(self) -> AsyncIterator[Event]:
        """The events for ``async for``: polls without waiting and sleeps on the event loop between
        polls, so other tasks run meanwhile."""
        delay = _ASYNC_FIRST_DELAY
        while True:
            ev = self._next(False)
            if ev is None:
                return
            if ev is _NOTHING:
                await asyncio.sleep(delay)
                delay = min(2 * delay, _ASYNC_LAST_DELAY)
                continue
            delay = _ASYNC_FIRST_DELAY
            yield ev

    def _completion(self) -> Completion:
        last = self._last
        assert last is not None and self._finish is not None
        return Completion(text="".join(self._text), tokens=list(self._tokens), finish_reason=self._finish,
                          prompt_tokens=last.prompt_tokens, cached_tokens=last.cached_tokens,
                          completion_tokens=last.completion_tokens, queue_seconds=last.queue_seconds,
                          first_token_seconds=last.first_token_seconds, probs=list(self._probs),
                          error=self._error)

    def result(self, timeout: Optional[float] = None) -> Completion:
        """Waits for the request to finish and returns the whole :class:`Completion` (events not yet
        iterated are consumed).

        Args:
            timeout: seconds to wait at most; ``None`` waits for the end.

        Raises:
            TimeoutError: ``timeout`` passed first (the request goes on).
        """
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        while True:
            with self._lock:
                if self._finish is None:
                    wait_ms = _POLL_MS
                    if deadline is not None:
                        wait_ms = max(0, min(wait_ms, int((deadline - time.monotonic()) * 1000)))
                    self._fetch(wait_ms)
                if self._finish is not None:
                    self._pending.clear()
                    return self._completion()
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"request {self.id}: not finished after {timeout} s")

    async def aresult(self) -> Completion:
        """:meth:`result` for asyncio: waits on the event loop without blocking it."""
        async for _ in self:
            pass
        with self._lock:
            return self._completion()

    def cancel(self) -> bool:
        """Asks the engine to end the request (``ax_serving_cancel``): it finishes with
        ``"cancelled"`` at the next step and its KV blocks return to the pool; iteration then ends
        with that event. Returns False, and does nothing, when the request has already finished."""
        if self._finish is not None or self._engine._closed:
            return False
        try:
            _axial.serving_cancel(self._engine._capsule, self.id)
            return True
        except InvalidArgumentError:
            # The engine knows no unfinished request of this id: it finished (its last event waits
            # for a poll) or the engine closed, between the check above and the call. A poller in
            # another thread holds the lock for at most one poll slice.
            with self._lock:
                if self._finish is None:
                    self._fetch(0)
            if self._finish is not None:
                return False
            raise

    @property
    def done(self) -> bool:
        """True once the request has finished (its last event has reached Python; checks without
        waiting)."""
        if self._finish is None and self._lock.acquire(blocking=False):
            try:
                if self._finish is None:
                    self._fetch(0)
            finally:
                self._lock.release()
        return self._finish is not None

    @property
    def finish_reason(self) -> Optional[str]:
        """The finish reason once :attr:`done`, else None."""
        return self._finish if self.done else None


# The C library names fields of its structs ("request->max_tokens", "settings[0].top_p",
# "cfg->block_size"); here they are keyword arguments, so messages name them that way.
_C_PREFIXES = (("request->tokens", "prompt"), ("request->", ""), ("settings[0].", ""), ("cfg->", ""))


def _python_names(error: InvalidArgumentError) -> InvalidArgumentError:
    message = error.message
    for prefix, replacement in _C_PREFIXES:
        if message.startswith(prefix):
            return type(error)(replacement + message[len(prefix):], error.status)
    return error


def _config_int(name: str, value: Optional[int]) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise InvalidArgumentError(f"{name}: expected an integer or None, got a bool", 1)
    try:
        v = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(f"{name}: expected an integer or None, got {type(value).__name__}", 1) from None
    if v < 1:
        raise InvalidArgumentError(f"{name}: {v} must be >= 1 (None: the default)", 1)
    return v


class Engine:
    """A serving engine on a loaded model (``ax_serving_create``).

    Args:
        model: an :class:`axial.llm.Model` (the engine keeps a reference; several engines may share
            a model).
        policy: the scheduler, one of :data:`POLICIES`: ``"splitfuse"`` (each step takes one decode
            token of every running request, then fills its token budget with prompt chunks),
            ``"prefill-first"`` (whole prompts first, decodes wait) or ``"static"`` (fixed batches).
        n_ctx: most tokens of one request, prompt and generated (default ``min(n_ctx_train, 4096)``).
        block_size: tokens per KV block, >= 16 (default 32).
        num_blocks: KV blocks in the pool (default: 8 full contexts on the CPU, 32 on CUDA).
        max_batch_tokens: token budget of one step (default 64 on the CPU, 2048 on CUDA).
        max_running: most requests admitted at once (default 64).
        max_queue: most requests waiting for admission; :meth:`submit` beyond it raises
            :class:`axial.BusyError` (default 1024).
        static_batch: batch size of the ``"static"`` policy (default ``max_running``).
        prefix_sharing: requests whose prompts start alike share the KV blocks of that prefix.
        preemption: False (default): a request is admitted only when the pool can promise it
            prompt + max_tokens, and is never preempted; True: a request is admitted when its
            prompt fits, and when the pool runs out the latest-submitted running requests go back
            to the queue and recompute their KV later (on the CPU the same tokens, later; on CUDA a
            near tie may flip, docs/serving.md). True suits requests
            without a useful ``max_tokens`` (it then defaults to the rest of the context).
        start: start the engine's own thread, which steps while there is work; with False nothing
            runs until :meth:`step` or :meth:`start`.

    ``None`` means the library's default; :attr:`config` shows the values in effect.

    Raises:
        InvalidArgumentError: a setting out of range (the message names it).
        OutOfMemoryError: the KV pool does not fit.
    """

    def __init__(self, model: Model, policy: str = "splitfuse", n_ctx: Optional[int] = None,
                 block_size: Optional[int] = None, num_blocks: Optional[int] = None,
                 max_batch_tokens: Optional[int] = None, max_running: Optional[int] = None,
                 max_queue: Optional[int] = None, static_batch: Optional[int] = None, prefix_sharing: bool = True,
                 preemption: bool = False, start: bool = True) -> None:
        self._closed = True  # until the engine exists
        self._orphans: Deque[int] = collections.deque()
        if not isinstance(model, Model):
            raise InvalidArgumentError(f"model: expected an axial.llm.Model, got {type(model).__name__}", 1)
        if not isinstance(policy, str):
            raise InvalidArgumentError(f"policy: expected one of {', '.join(POLICIES)}, got {type(policy).__name__}",
                                       1)
        values = [_config_int(name, value) for name, value in (
            ("n_ctx", n_ctx), ("block_size", block_size), ("num_blocks", num_blocks),
            ("max_batch_tokens", max_batch_tokens), ("max_running", max_running), ("max_queue", max_queue),
            ("static_batch", static_batch))]
        self.model = model
        try:
            self._capsule = _axial.serving_create(model._capsule, policy, *values, bool(prefix_sharing),
                                                  bool(preemption))
        except InvalidArgumentError as e:
            raise _python_names(e) from None
        self._closed = False
        self._config: Dict[str, Any] = _axial.serving_config(self._capsule)
        self._running = False
        if start:
            self.start()

    @property
    def config(self) -> Dict[str, Any]:
        """The configuration in effect (``ax_serving_get_config``, defaults filled in): policy, n_ctx,
        block_size, num_blocks, max_batch_tokens, max_running, max_queue, static_batch,
        prefix_sharing, preemption."""
        return dict(self._config)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._running else "stopped")
        return f"axial.serving.Engine({self._config['policy']!r}, {state})"

    def submit(self, prompt: Union[str, Sequence[int]], max_tokens: int = 16, temperature: float = 0.0,
               top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0, repetition_penalty: float = 1.0,
               frequency_penalty: float = 0.0, presence_penalty: float = 0.0, penalty_last_n: int = 64,
               seed: Optional[int] = None, stop: Optional[Union[str, Sequence[str]]] = None,
               stop_tokens: Optional[Sequence[int]] = None, ignore_eos: bool = False,
               penalize_prompt: bool = True) -> Request:
        """Queues a request (``ax_serving_submit``) and returns it at once. Thread-safe.

        Args:
            prompt: text (tokenized with the model's BOS rule, special tokens such as
                ``<|im_start|>`` parsed) or token ids.
            max_tokens: most tokens to generate (>= 1); generation also ends at an end token (EOS,
                ``<|im_end|>``), a stop token or string, or a full context.
            temperature: 0 is greedy; else sampling with ``top_k`` (0 = off), ``top_p`` (1 = off),
                ``min_p`` (0 = off), as ``axial.sample``.
            repetition_penalty, frequency_penalty, presence_penalty: penalties over the last
                ``penalty_last_n`` tokens, prompt included (1, 0, 0 = off).
            penalize_prompt: False: the penalties see only generated tokens, as OpenAI's presence
                and frequency penalties do (a chat prompt's own end token is then not pushed down).
            seed: draw i of the request depends only on (seed, i): the same seed gives the same
                tokens whatever else the engine runs. None (the default): a fresh seed per request.
            stop: a string or up to 16 strings (1..256 bytes each) that end generation; the text ends
                before the stop string.
            stop_tokens: extra token ids that end generation.
            ignore_eos: the model's end tokens do not stop generation.

        Raises:
            InvalidArgumentError: a bad argument, named (an empty prompt, one that leaves no room in
                ``n_ctx``, max_tokens < 1, bad sampling settings, a token id out of range, too many or
                empty stop strings), or the engine is closed.
            BusyError: ``max_queue`` requests are already waiting; try again later.
        """
        if isinstance(prompt, str):
            prompt_arg: Any = prompt
        elif isinstance(prompt, (bytes, bytearray)):
            raise InvalidArgumentError("prompt: expected a str or a sequence of token ids, got bytes", 1)
        else:
            try:
                prompt_arg = _ids_array(prompt)
            except (TypeError, ValueError, OverflowError) as e:
                if isinstance(e, InvalidArgumentError):
                    raise InvalidArgumentError(f"prompt: {e.message}", 1) from None
                raise InvalidArgumentError(f"prompt: expected a str or a sequence of token ids ({e})", 1) from None
        if stop is None:
            stops: Optional[Tuple[Any, ...]] = None
        elif isinstance(stop, str):
            stops = (stop,)
        else:
            try:
                stops = tuple(stop)
            except TypeError:
                raise InvalidArgumentError(f"stop: expected a str or a sequence of str, got {type(stop).__name__}",
                                           1) from None
        stop_ids = None
        if stop_tokens is not None:
            try:
                stop_ids = _ids_array(stop_tokens)
            except (TypeError, ValueError, OverflowError) as e:
                raise InvalidArgumentError(f"stop_tokens: expected a sequence of token ids ({e})", 1) from None
        seed_value = random_seed() if seed is None else _integer("seed", seed)
        if not 0 <= seed_value < 2**64:
            raise InvalidArgumentError(f"seed: {seed_value} is outside [0, 2**64)", 1)
        if self._closed:
            raise InvalidArgumentError("engine: closed (Engine.close was called)", 1)
        args = (prompt_arg, _integer("max_tokens", max_tokens), _number("temperature", temperature),
                _integer("top_k", top_k), _number("top_p", top_p), _number("min_p", min_p),
                _number("repetition_penalty", repetition_penalty), _number("frequency_penalty", frequency_penalty),
                _number("presence_penalty", presence_penalty), _integer("penalty_last_n", penalty_last_n), seed_value,
                stops, stop_ids, bool(ignore_eos), bool(penalize_prompt))
        self._reap()
        try:
            request_id = _axial.serving_submit(self._capsule, *args)
        except InvalidArgumentError as e:
            raise _python_names(e) from None
        return Request(self, request_id)

    def _orphan(self, request_id: int) -> None:
        """A :class:`Request` dropped before its last event was read (its finalizer, in any thread):
        queued for :meth:`_reap`."""
        self._orphans.append(request_id)

    def _reap(self) -> None:
        """Cancels the dropped requests and polls each to its last event, after which the engine
        frees it; without this each would hold its buffers in the engine until :meth:`close`. One
        that has not ended yet (a cancel takes effect at the next step) waits for the next call."""
        for _ in range(len(self._orphans)):
            try:
                request_id = self._orphans.popleft()
            except IndexError:
                return
            if self._closed:
                continue
            try:
                _axial.serving_cancel(self._capsule, request_id)
            except InvalidArgumentError:
                pass  # finished already: its last event waits for the poll below
            try:
                while True:
                    tokens, _, text, finish = _axial.serving_poll(self._capsule, request_id, 0)[:4]
                    if finish is not None:
                        break
                    if not (tokens or text):
                        self._orphans.append(request_id)
                        break
            except InvalidArgumentError:
                pass  # no longer known to the engine

    def stats(self) -> Dict[str, int]:
        """A snapshot of the engine's counters (``ax_serving_get_stats``): waiting, running,
        blocks_total, blocks_used, blocks_cached, block_size, requests_submitted, requests_finished,
        requests_cancelled, prompt_tokens, cached_prompt_tokens, computed_prompt_tokens,
        generated_tokens, steps, copy_on_write, preemptions."""
        return _axial.serving_stats(self._capsule)

    def step(self) -> bool:
        """Runs one scheduler step in this thread (``ax_serving_step``; the GIL is released): picks
        the batch, runs its forward, samples, delivers events. Returns False when there was nothing
        to do. Only while the engine's own thread is stopped (``start=False`` or after :meth:`stop`).

        Raises:
            InvalidArgumentError: the engine's thread is running.
            AxialError: the forward failed (the requests of that batch end with ``"error"``).
        """
        return bool(_axial.serving_step(self._capsule))

    def start(self) -> None:
        """Starts the engine's own thread, which steps while there is work. No-op when started."""
        _axial.serving_start(self._capsule)
        self._running = True

    def stop(self) -> None:
        """Stops the engine's thread after its current step; requests stay queued. No-op when stopped."""
        _axial.serving_stop(self._capsule)
        self._running = False

    def close(self) -> None:
        """Stops the engine, ends every unfinished request with ``"cancelled"`` and frees the KV pool
        (``ax_serving_free``). Waits for calls in flight on other threads (at most a poll slice or a
        step). Closing twice is a no-op; any other call afterwards raises InvalidArgumentError."""
        if self._closed:
            return
        self._closed = True
        self._running = False
        self._orphans.clear()  # ax_serving_free ends and frees them
        _axial.serving_close(self._capsule)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
