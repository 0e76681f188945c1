"""Executes notebooks top to bottom with nbclient (outputs are not written back); any cell error
fails. Usage: run_notebooks.py NOTEBOOK.ipynb...  Each runs in its own folder as working directory
with the Agg matplotlib backend."""
import os
import pathlib
import sys
import time

import nbclient
import nbformat


def main(paths):
    os.environ.setdefault("MPLBACKEND", "Agg")
    failed = 0
    for path in map(pathlib.Path, paths):
        nb = nbformat.read(path, as_version=4)
        if any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"):
            print(f"FAIL {path.name}: stored with outputs (clear them before committing)")
            failed += 1
            continue
        start = time.perf_counter()
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute()
        except nbclient.exceptions.CellExecutionError as e:
            print(f"FAIL {path.name}:\n{e}")
            failed += 1
            continue
        cells = sum(1 for c in nb.cells if c.cell_type == "code")
        print(f"ok   {path.name}: {cells} code cells in {time.perf_counter() - start:.1f} s")
    print(f"{len(paths) - failed} passed, {failed} failed")
    return 1 if failed or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
