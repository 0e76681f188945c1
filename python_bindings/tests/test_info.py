"""axial.info(): the CPU features agree with each other and with /proc/cpuinfo where it exists."""
import json
import os
import platform
import subprocess
import sys

import pytest

import axial

KNOWN = {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512bf16",
         "avx512vnni", "amx_tile", "amx_bf16", "amx_int8"}


def _cpuinfo_flags():
    if not os.path.exists("/proc/cpuinfo"):
        return None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return None


def test_cpu_features_are_consistent():
    d = axial.info()
    features = set(d["cpu_features"])
    assert features <= KNOWN
    assert isinstance(d["amx_granted"], bool)
    if d["amx_granted"]:
        assert "amx_tile" in features
    assert d["amx_tiles"] in ("hardware", "emulated", "none")
    if d["amx_tiles"] == "hardware":
        assert d["amx_granted"] and "amx_bf16" in features and d["cpu_path"] == "avx512"
    if "avx512bf16" in features:
        assert "avx512f" in features
    if "avx512vnni" in features:
        assert "avx512f" in features


def test_cpu_features_match_cpuinfo():
    flags = _cpuinfo_flags()
    if flags is None or "fpu" not in flags or "sse2" not in flags:
        pytest.skip("no x86 /proc/cpuinfo to compare with")
    features = set(axial.info()["cpu_features"])
    assert ("avx512bf16" in features) == ("avx512_bf16" in flags)
    if os.environ.get("AXIAL_VNNI") != "0":  # AXIAL_VNNI=0 hides it on purpose
        assert ("avx512vnni" in features) == ("avx512_vnni" in flags)
    # The kernel drops amx_tile when it cannot use tiles, so only "cpuinfo has it" is binding.
    if "amx_tile" in flags:
        assert "amx_tile" in features


def test_blas_core_matches_a_forced_core_type():
    """blas_core is the core OPENBLAS_CORETYPE forces (read by OpenBLAS when the process starts, so a
    child process is run); the pre-AVX2 Prescott core lags exactly when the CPU has AVX2 and FMA.
    Only where OpenBLAS picks its core at load time (DYNAMIC_ARCH on x86-64: OPENBLAS_VERBOSE=2 then
    prints "Core: NAME"); a build for one target ignores OPENBLAS_CORETYPE."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("OpenBLAS's Prescott core is x86-64 only")
    probe = subprocess.run([sys.executable, "-c", "import axial"], env=dict(os.environ, OPENBLAS_VERBOSE="2"),
                           capture_output=True, text=True, check=True)
    if "Core:" not in probe.stderr:
        pytest.skip("this OpenBLAS does not choose its core at load time (no 'Core:' with OPENBLAS_VERBOSE=2)")
    env = dict(os.environ, OPENBLAS_CORETYPE="Prescott")
    code = "import axial, json; d = axial.info(); print(json.dumps([d['blas_core'], d['blas_core_lags_cpu'], " \
           "d['cpu_features']]))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    core, lags, features = json.loads(out)
    assert core.lower() == "prescott"
    assert lags == ("avx2" in features and "fma" in features)
    assert isinstance(axial.info()["blas_core"], str)
