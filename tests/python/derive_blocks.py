"""Derives a shorter Llama GGUF from a longer one: the first n blocks, the token embedding (and so the
tied head), output_norm, an output.weight if the file has one, and all the metadata (tokenizer
included) with <arch>.block_count = n. Every tensor is copied byte for byte (quantized blocks stay as
they are, no requantization), so a float64 reference reading either file dequantizes the same
weights.

It makes the model the CUDA LLM test (tests/python/test_llm_cuda.py) runs: SmolLM2-135M-Instruct
Q4_1 cut to 2 blocks is about 35 MB (the Q8_0 embedding is most of it) and travels to a GPU machine
where the 98 MB original cannot (scripts/gpu-model.sh).

    python derive_blocks.py SRC.gguf OUT.gguf [--blocks 2]
"""
import argparse
import os
import sys

import gguf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm_reference import as_written, write_gguf  # noqa: E402

def derive_blocks(src, out, n_blocks=2):
    """Writes src's first n_blocks blocks (and everything outside the blocks) to out; returns out."""
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    key = f"{arch}.block_count"
    n_layer = int(reader.fields[key].contents())
    if not 1 <= n_blocks <= n_layer:
        raise ValueError(f"{n_blocks} blocks asked of a {n_layer}-block model")
    tensors = {}
    for t in reader.tensors:
        parts = t.name.split(".")
        if parts[0] == "blk" and int(parts[1]) >= n_blocks:
            continue
        tensors[t.name] = as_written(t)
    write_gguf(out, arch, {key: (n_blocks, gguf.GGUFValueType.UINT32)}, tensors, reader, skip=(key,))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--blocks", type=int, default=2)
    a = ap.parse_args(argv)
    derive_blocks(a.src, a.out, a.blocks)


if __name__ == "__main__":
    main(sys.argv[1:])
