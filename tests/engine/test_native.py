"""The native backend (C kernels through ctypes) against the eager reference, its choice by
``auto``, and the compile cache: built once per machine, loaded by later processes, and a clear
fallback to ``loop`` when it cannot be built."""

import hashlib
import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from test_backends import Box, _spec, assert_same, neuron_grid, sample

from fullspike import functional as SF
from fullspike import nn as snn
from fullspike.engine import backends, cbuild, native
from fullspike.errors import ConfigError
from fullspike.surrogate import ATan, Sigmoid, Surrogate, Triangle

pytestmark = pytest.mark.skipif(
    cbuild.compiler() is None,
    reason="no C compiler found (cc, gcc or clang; the native backend compiles its kernels with it)",
)


@pytest.fixture(autouse=True)
def _no_notice():
    # the one-off "compiling ..." notice is checked in a fresh process below, not here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cbuild.BuildNotice)
        yield


@neuron_grid
def test_native_matches_eager(kind, v_reset, detach_reset, strict, surrogate):
    assert_same(
        "native",
        sample(dtype=torch.float32),
        kind,
        tol=1e-5,
        v_reset=v_reset,
        detach_reset=detach_reset,
        strict=strict,
        surrogate=surrogate,
    )


def test_float32_spikes_are_bit_identical_on_many_neurons():
    # thousands of neurons near threshold: any rounding difference in h would flip a spike
    x = sample(T=16, shape=(64, 64), dtype=torch.float32)
    for kind, vr in (("lif", 0.0), ("leaky", None), ("if", 0.0), ("plif", -0.2)):
        assert_same("native", x, kind, tol=1e-5, v_reset=vr)


@pytest.mark.parametrize("checkpoint", [False, True, 1, 4])
@pytest.mark.parametrize("kind", ["plif", "leaky"])
def test_native_segments_and_checkpoints_match_eager(kind, checkpoint):
    # T = 70 exceeds the kernels' 64-step segments: the membrane (forward) and dL/dv (backward)
    # are chained between segments, and PLIF's coefficient gradients summed over them
    assert native.NativeKernels.max_steps < 70
    assert_same(
        "native",
        sample(T=70, shape=(3, 40), dtype=torch.float32),
        kind,
        tol=1e-5,
        v_reset=None if kind == "leaky" else 0.0,
        checkpoint=checkpoint,
    )


@pytest.mark.parametrize("kind,v_reset,detach", [("leaky", None, True), ("plif", -0.2, False)])
def test_native_reads_a_time_transposed_input(kind, v_reset, detach):
    # BNTT's [T, B, ...] view of a contiguous [B, T, ...] tensor, read in place in blocks
    x = sample(T=9, shape=(6, 3, 5), dtype=torch.float32).transpose(0, 1).contiguous().transpose(0, 1)
    assert not x.is_contiguous() and native._layout(x)[1:] == (6, 15)
    assert native._layout(x)[0].data_ptr() == x.data_ptr()  # no copy
    assert_same("native", x, kind, tol=1e-5, v_reset=v_reset, detach_reset=detach, strict=True, surrogate=Triangle())


def test_native_reads_inputs_and_gradients_in_any_layout():
    # a strided time slice and a permuted input (copied), with the expanded gradient of .sum()
    base = sample(T=12, shape=(4, 6, 7), dtype=torch.float32)
    for x in (base[::2], base.permute(0, 3, 1, 2)):
        grads = []
        for backend in ("eager", "native"):
            xi = x.detach().clone().requires_grad_() if backend == "eager" else x.detach().requires_grad_()
            s = SF.lif_sequence(xi, tau=2.0, backend=backend)
            s.sum().backward()
            grads.append((s, xi.grad))
        assert torch.equal(grads[0][0], grads[1][0])
        torch.testing.assert_close(grads[1][1], grads[0][1], rtol=1e-5, atol=1e-5)


def test_threads_split_the_neurons_and_give_the_same_numbers(monkeypatch):
    x = sample(T=10, shape=(8, 300), dtype=torch.float32)
    outs = {}
    for threads in (1, 3):
        monkeypatch.setattr(native, "PER_THREAD", 1)
        monkeypatch.setattr(native.torch, "get_num_threads", lambda n=threads: n)
        assert native._threads(x.numel()) == threads
        w = torch.tensor(0.3, requires_grad=True)
        xi = x.clone().requires_grad_()
        k = torch.sigmoid(w)
        s = SF.neuron_sequence(xi, decay=1 - k, scale=k, bias=0.0, backend="native")
        (s * torch.arange(s.numel()).view_as(s)).sum().backward()
        outs[threads] = (s, xi.grad, w.grad)
    for one, three in zip(outs[1], outs[3]):
        assert torch.equal(one, three)


class Parabola(Surrogate):
    """A user's own surrogate with a C form."""

    def grad(self, x):
        return 0.75 * torch.clamp(1.0 - x * x, min=0.0)

    def c_grad(self):
        return "const float y = 1.0f - u * u;\nreturn p1 * (y > 0.0f ? y : 0.0f);", 0.75, 0.0


class Broken(Surrogate):
    """A user's surrogate whose C form does not compile."""

    def grad(self, x):
        return torch.ones_like(x)

    def c_grad(self):
        return "return p1 * undefined_function(u);", 1.0, 0.0


def test_a_user_surrogate_with_a_c_form_runs_natively():
    assert backends.auto_choice(sample(dtype=torch.float32), (0.5, 0.5, 0.0), _spec(surrogate=Parabola())) == "native"
    assert_same("native", sample(dtype=torch.float32), "lif", tol=1e-5, surrogate=Parabola())


def test_native_refuses_what_it_cannot_run_in_one_line():
    x = sample(dtype=torch.float32)
    cases = [
        (dict(surrogate=Box()), "Box has no C form"),
        (dict(decay=torch.full((3, 5), 0.5)), "scalar"),
        (dict(surrogate=Broken()), "cannot be built here: the C compiler .* failed"),
    ]
    for kwargs, why in cases:
        with pytest.raises(ConfigError, match=f"neuron backend 'native' cannot run: .*{why}") as err:
            SF.neuron_sequence(x, backend="native", **kwargs)
        assert len(str(err.value).splitlines()) == 1
    with pytest.raises(ConfigError, match="float32 on CPU; the input is torch.float64"):
        SF.neuron_sequence(x.double(), backend="native")


def test_auto_takes_native_for_float32_on_cpu_and_loop_otherwise():
    x = sample(dtype=torch.float32)
    for surrogate in (Sigmoid(), ATan(), Triangle()):
        assert backends.resolve("auto", x, (0.5, 0.5, 0.0), _spec(surrogate=surrogate)).name == "native"
    assert backends.auto_choice(torch.empty(8, 1 << 17), (1.0, 1.0, 0.0), _spec()) == "native"
    assert backends.auto_choice(x.double(), (0.5, 0.5, 0.0), _spec()) == "loop"
    assert backends.auto_choice(x.half(), (0.5, 0.5, 0.0), _spec()) == "loop"
    assert backends.auto_choice(x, (0.5, 0.5, 0.0), _spec(surrogate=Box())) == "loop"
    assert backends.auto_choice(x, (torch.full((3, 5), 0.5), 1.0, 0.0), _spec()) == "loop"
    with pytest.warns(RuntimeWarning, match="native neuron backend cannot run: .*C compiler"):
        assert backends.auto_choice(x, (0.5, 0.5, 0.0), _spec(surrogate=Broken())) == "loop"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        assert backends.auto_choice(x, (0.5, 0.5, 0.0), _spec(surrogate=Broken())) == "loop"
    with torch.no_grad():
        assert torch.equal(snn.LIF()(x), snn.LIF(backend="eager")(x))


def test_native_saves_only_the_input():
    x = sample(T=6, shape=(4, 16), dtype=torch.float32).requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        SF.lif_sequence(x, backend="native")
    assert len(saved) == 1 and saved[0].data_ptr() == x.data_ptr()


CHILD = textwrap.dedent("""
    import warnings, torch
    warnings.simplefilter("always")
    from fullspike.nn import LIF
    x = torch.linspace(-1, 3, 2 * 3 * 40).reshape(2, 3, 40).requires_grad_()
    ref = LIF(backend="eager")(x)
    for _ in range(2):
        s = LIF()(x)
        s.sum().backward()
    print("SAME" if torch.equal(s, ref) else "DIFFERENT")
""")


def _child(env: dict, script: str = CHILD) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **env, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)


def test_first_use_compiles_once_into_the_cache_and_later_processes_load_it(tmp_path):
    cache = tmp_path / "cache"
    first = _child({"FULLSPIKE_CACHE_DIR": str(cache)})
    assert first.returncode == 0 and "SAME" in first.stdout, first.stderr
    assert first.stderr.count("BuildNotice") == 1, first.stderr  # said once, naming the folder
    assert str(cache / "native") in first.stderr
    libs = sorted((cache / "native").iterdir())
    assert [p.suffix for p in libs] == [".so", ".sha256"]  # the library and its digest; no temporary files
    assert libs[1].read_text().strip() == hashlib.sha256(libs[0].read_bytes()).hexdigest()
    stamp = libs[0].stat().st_mtime_ns
    second = _child({"FULLSPIKE_CACHE_DIR": str(cache)})
    assert second.returncode == 0 and "SAME" in second.stdout, second.stderr
    assert "BuildNotice" not in second.stderr and "Warning" not in second.stderr, second.stderr
    assert sorted((cache / "native").iterdir()) == libs and libs[0].stat().st_mtime_ns == stamp


def test_the_cache_folder_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("FULLSPIKE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cbuild.cache_dir() == tmp_path / "xdg" / "fullspike"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cbuild.cache_dir() == tmp_path / "home" / ".cache" / "fullspike"
    monkeypatch.setenv("FULLSPIKE_CACHE_DIR", str(tmp_path / "mine"))
    assert cbuild.cache_dir() == tmp_path / "mine"


@pytest.mark.parametrize("case", ["no-compiler", "unwritable-cache"])
def test_without_a_compiler_or_a_cache_auto_says_why_once_and_runs_loop(tmp_path, case):
    env = {"FULLSPIKE_CACHE_DIR": str(tmp_path / "cache")}
    if case == "no-compiler":
        env["CC"] = str(tmp_path / "no-such-cc")
        why = "no C compiler found"
    else:
        (tmp_path / "file").write_text("")
        env["FULLSPIKE_CACHE_DIR"] = str(tmp_path / "file" / "cache")  # under a file: no folder
        why = "cannot be created"
    res = _child(env)
    assert res.returncode == 0 and "SAME" in res.stdout, res.stderr
    assert res.stderr.count("RuntimeWarning") == 1, res.stderr
    assert why in res.stderr and "runs 'loop' instead" in res.stderr


def test_processes_compiling_the_same_kernel_at_once_all_load_it(tmp_path):
    script = textwrap.dedent("""
        import sys
        from fullspike.engine import cbuild
        lib = cbuild.load("int fs_answer(void) { return 42; }\\n/* %s */" % sys.argv[1])
        print(lib.fs_answer())
    """)
    env = {**os.environ, "FULLSPIKE_CACHE_DIR": str(tmp_path), "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, "same"], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [out.strip() for out, _ in outs] == ["42"] * 3, [err for _, err in outs]
    lib = cbuild.library_path("int fs_answer(void) { return 42; }\n/* same */", cbuild.compiler())
    assert sorted(p.name for p in (tmp_path / "native").iterdir()) == [lib.name, lib.name + ".sha256"]


@pytest.mark.parametrize("backend", ["loop", "native"])
def test_the_input_gradient_comes_back_in_the_input_layout(backend):
    # BNTT hands its neurons [T, B, ...] views of [B, T, ...] tensors; a gradient in that same
    # layout passes back through the norm without a copy
    base = sample(T=4, shape=(9, 3, 5), dtype=torch.float32).requires_grad_()  # [B, T, ...]
    x = (base * 1.0).transpose(0, 1)
    s = SF.neuron_sequence(x, decay=0.9, backend=backend, surrogate=Triangle())
    (g,) = torch.autograd.grad((s * torch.arange(s.numel()).view_as(s)).sum(), x)
    assert g.stride() == x.stride()
    (ref,) = torch.autograd.grad(
        (
            SF.neuron_sequence(x, decay=0.9, backend="eager", surrogate=Triangle()) * torch.arange(s.numel()).view_as(s)
        ).sum(),
        x,
    )
    torch.testing.assert_close(g, ref, rtol=1e-5, atol=1e-5)
