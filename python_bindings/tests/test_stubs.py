"""The .pyi stubs describe the runtime: every public function of axial, axial.io, axial.torch (where
PyTorch is importable) and the C extension has a stub with the same parameters (names, kinds,
defaults), every method stubbed in a class (axial.io, axial.llm, axial.serving, axial.torch) has the
runtime's parameters, and every public function a docstring."""
import ast
import importlib
import inspect
import pathlib

import pytest

import axial

PKG = pathlib.Path(axial.__file__).parent


def stub_tree(module_name):
    path = PKG / (module_name.split(".")[-1] + ".pyi" if module_name != "axial" else "__init__.pyi")
    return ast.parse(path.read_text())


def stub_functions(module_name):
    return {n.name: n for n in stub_tree(module_name).body if isinstance(n, ast.FunctionDef)}


def stub_classes(module_name):
    return {n.name: n for n in stub_tree(module_name).body if isinstance(n, ast.ClassDef)}


def stub_params(fn):
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args]
    kw = [p.arg for p in a.kwonlyargs]
    return names, kw


def stub_defaults(fn):
    """{parameter: default} for the stub's defaults that are literals (`...` and expressions are not
    compared)."""
    a = fn.args
    params = a.posonlyargs + a.args
    pairs = list(zip(params[len(params) - len(a.defaults):], a.defaults)) + \
        [(p, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
    out = {}
    for p, d in pairs:
        try:
            value = ast.literal_eval(d)
        except ValueError:
            continue
        if value is not Ellipsis:
            out[p.arg] = value
    return out


def check_defaults(fn, stub, where):
    """The stub's literal defaults are the runtime's (a default changed in one place only had gone
    unnoticed: seed 0 in the stubs after the runtime took None)."""
    runtime = inspect.signature(fn).parameters
    for name, value in stub_defaults(stub).items():
        got = runtime[name].default
        assert got is not inspect.Parameter.empty, f"{where}({name}): the stub has a default, the runtime none"
        assert type(got) is type(value) and got == value, f"{where}({name}): stub {value!r}, runtime {got!r}"


def runtime_params(fn):
    sig = inspect.signature(fn)
    positional = [p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keyword = [p.name for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY]
    return positional, keyword


def import_module(module_name):
    if module_name == "axial.torch":
        pytest.importorskip("torch", reason="axial.torch needs PyTorch (.venv-torch has it)")
    return importlib.import_module(module_name)


@pytest.mark.parametrize("module_name", ["axial", "axial.io", "axial.torch", "axial._axial", "axial._attention"])
def test_stubs_match_runtime(module_name):
    module = import_module(module_name)
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
        assert runtime_params(fn) == (names, kw), f"{module_name}.{name}"
        check_defaults(fn, stubs[name], f"{module_name}.{name}")
        assert inspect.getdoc(fn), f"{module_name}.{name} has no docstring"


@pytest.mark.parametrize("module_name", ["axial.io", "axial.llm", "axial.serving", "axial.torch"])
def test_stubbed_classes_match_runtime(module_name):
    module = import_module(module_name)
    classes = stub_classes(module_name)
    assert classes
    for class_name, stub in classes.items():
        cls = getattr(module, class_name)
        assert inspect.getdoc(cls), f"{module_name}.{class_name} has no docstring"
        for method in (n for n in stub.body if isinstance(n, ast.FunctionDef)):
            where = f"{module_name}.{class_name}.{method.name}"
            fn = inspect.getattr_static(cls, method.name)
            if isinstance(fn, staticmethod):
                fn = fn.__func__
            assert runtime_params(fn) == stub_params(method), where
            check_defaults(fn, method, where)
            assert any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in method.decorator_list) == \
                isinstance(inspect.getattr_static(cls, method.name), staticmethod), where


def test_extension_functions_have_docstrings():
    from axial import _axial

    for name in dir(_axial):
        obj = getattr(_axial, name)
        if callable(obj) and not name.startswith("_"):
            assert obj.__doc__, name
