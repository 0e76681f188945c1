from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .llm import Model

POLICIES: Tuple[str, ...]

class Event:
    """What a request produced since its previous event (ax_serving_event)."""
    tokens: List[int]
    text: str
    finish_reason: Optional[str]  # None, "stop", "length", "cancelled", "error"
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    queue_seconds: float
    first_token_seconds: float
    probs: List[float]

class Completion:
    """A finished request: every token and the whole text."""
    text: str
    tokens: List[int]
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    queue_seconds: float
    first_token_seconds: float
    probs: List[float]

class Request:
    """A submitted request; iterate it (blocking or async) for its events."""
    id: int
    def __iter__(self) -> Iterator[Event]: ...
    def __aiter__(self) -> AsyncIterator[Event]: ...
    def result(self, timeout: Optional[float] = None) -> Completion: ...
    async def aresult(self) -> Completion: ...
    def cancel(self) -> bool: ...
    done: bool  # a read-only property
    finish_reason: Optional[str]  # a read-only property

class Engine:
    """A serving engine on a loaded model (ax_serving_create)."""
    model: Model
    def __init__(self, model: Model, policy: str = "splitfuse", n_ctx: Optional[int] = None,
                 block_size: Optional[int] = None, num_blocks: Optional[int] = None,
                 max_batch_tokens: Optional[int] = None, max_running: Optional[int] = None,
                 max_queue: Optional[int] = None, static_batch: Optional[int] = None, prefix_sharing: bool = True,
                 preemption: bool = False, start: bool = True) -> None: ...
    config: Dict[str, Any]  # a read-only property
    closed: bool  # a read-only property
    def submit(self, prompt: Union[str, Sequence[int]], max_tokens: int = 16, temperature: float = 0.0,
               top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0, repetition_penalty: float = 1.0,
               frequency_penalty: float = 0.0, presence_penalty: float = 0.0, penalty_last_n: int = 64,
               seed: Optional[int] = None, stop: Optional[Union[str, Sequence[str]]] = None,
               stop_tokens: Optional[Sequence[int]] = None, ignore_eos: bool = False,
               penalize_prompt: bool = True) -> Request: ...
    def stats(self) -> Dict[str, int]: ...
    def step(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Engine": ...
    def __exit__(self, *exc: Any) -> None: ...
