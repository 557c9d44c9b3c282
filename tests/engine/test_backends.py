"""Execution backends of the neuron recurrence against the eager reference: identical spikes, membranes and gradients
equal to float rounding (IF/LIF/PLIF/leaky x hard/soft x detach x strict x surrogates)."""

import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

from fullspike import functional as SF
from fullspike import nn as snn
from fullspike.engine import backends
from fullspike.errors import ConfigError
from fullspike.surrogate import ATan, Sigmoid, Surrogate, Triangle

KINDS = ("if", "lif", "plif", "leaky")
SURROGATES = (Sigmoid(), ATan(), Triangle(0.3, 1.0))
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def coefficients(kind, v_reset, w):
    """(decay, scale, bias) of each neuron kind; PLIF's come from the parameter ``w``."""
    vr = 0.0 if v_reset is None else v_reset
    if kind == "if":
        return 1.0, 1.0, 0.0
    if kind == "lif":
        return 0.5, 0.5, 0.5 * vr
    if kind == "leaky":
        return 0.9, 1.0, 0.0
    k = torch.sigmoid(w).to(torch.float64 if w.dtype == torch.float64 else w.dtype)
    return 1.0 - k, k, k * vr


def run(backend, x, kind, w, **kw):
    """Spikes, membranes and the gradients wrt x (and PLIF's w) of a random loss on both."""
    if backend == "eager":
        kw = {k: v for k, v in kw.items() if k != "checkpoint"}
    x = x.detach().requires_grad_()
    w = w.detach().requires_grad_()
    a, b, c = coefficients(kind, kw.get("v_reset", 0.0), w)
    s, v = SF.neuron_sequence(x, decay=a, scale=b, bias=c, backend=backend, return_membrane=True, **kw)
    gen = torch.Generator().manual_seed(1)
    gs = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
    gv = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
    (s * gs + v * gv).sum().backward()
    return s.detach(), v.detach(), x.grad, (w.grad if kind == "plif" else torch.zeros(()))


def assert_same(backend, x, kind, tol=1e-9, **kw):
    w = torch.tensor(0.3, dtype=x.dtype, device=x.device)
    ref = run("eager", x, kind, w, **kw)
    out = run(backend, x, kind, w, **kw)
    assert torch.equal(out[0], ref[0]), "spikes differ from the eager reference"
    assert ref[0].sum() > 0 and ref[0].sum() < ref[0].numel(), "test input should spike sometimes"
    for got, want in zip(out[1:], ref[1:]):
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)


def sample(T=6, shape=(3, 5), dtype=torch.float64, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn((T, *shape), generator=gen, dtype=dtype) * 0.8 + 0.45).to(device)


def neuron_grid(test):
    """Every neuron kind x reset x detach x strict x surrogate: the grid a backend is checked on."""
    for name, values, ids in (
        ("surrogate", SURROGATES, lambda s: type(s).__name__),
        ("strict", [False, True], None),
        ("detach_reset", [False, True], None),
        ("v_reset", [0.0, None, -0.2], None),
        ("kind", KINDS, None),
    ):
        test = pytest.mark.parametrize(name, values, ids=ids)(test)
    return test


@neuron_grid
def test_loop_matches_eager(kind, v_reset, detach_reset, strict, surrogate):
    assert_same("loop", sample(), kind, v_reset=v_reset, detach_reset=detach_reset, strict=strict, surrogate=surrogate)


@pytest.mark.parametrize("checkpoint", [True, 1, 4])
@pytest.mark.parametrize("kind", ["plif", "leaky"])
def test_loop_checkpoint_matches_eager(kind, checkpoint):
    assert_same("loop", sample(T=9), kind, v_reset=None if kind == "leaky" else 0.0, checkpoint=checkpoint)


def test_float32_spikes_are_bit_identical_on_many_neurons():
    # thousands of neurons near threshold: any rounding difference in h would flip a spike
    x = sample(T=16, shape=(64, 64), dtype=torch.float32)
    for kind, vr in (("lif", 0.0), ("leaky", None), ("if", 0.0)):
        assert_same("loop", x, kind, tol=1e-5, v_reset=vr)


def test_per_neuron_tensor_decay_gets_its_gradient():
    x = sample(T=5, shape=(2, 3, 4))
    decay = torch.tensor([0.9, 0.5, 0.7], dtype=torch.float64).view(3, 1).requires_grad_()
    grads = []
    for backend in ("eager", "loop"):
        decay.grad = None
        SF.neuron_sequence(x, decay=decay, backend=backend).sum().backward()
        grads.append(decay.grad.clone())
    assert grads[0].shape == (3, 1)
    torch.testing.assert_close(grads[1], grads[0])


class Box(Surrogate):
    """A user's own surrogate, written in torch ops only (no Triton form)."""

    def grad(self, x):
        return (x.abs() < 0.5).to(x.dtype)


def test_a_user_surrogate_runs_through_loop_and_auto_and_triton_refuses_it_in_one_line():
    for backend in ("loop", "auto"):
        assert_same(backend, sample(), "lif", surrogate=Box())
    with pytest.raises(ConfigError, match="neuron backend 'triton' cannot run") as err:
        SF.neuron_sequence(sample(), surrogate=Box(), backend="triton")
    assert len(str(err.value).splitlines()) == 1
    if torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1":
        assert "Box has no Triton form" in str(err.value)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::fullspike.engine.inductor.CompileNotice")  # tested on its own below
def test_a_user_surrogate_compiles_on_inductor():
    if backends.inductor_unavailable("cpu"):
        pytest.skip(f"torch.compile cannot run here: {backends.inductor_unavailable('cpu')}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # compiled, not the uncompiled fallback
        assert_same("inductor", sample(T=5, shape=(8, 9), dtype=torch.float32), "lif", tol=1e-5, surrogate=Box())


def test_loop_saves_only_the_input_and_a_membrane_per_segment():
    from fullspike.engine.loop import LoopKernels

    T = 2 * LoopKernels.max_steps + 1  # three segments: two membranes saved between them
    x = sample(T=T, shape=(4, 16), dtype=torch.float32).requires_grad_()

    def saved(backend, kind="lif"):
        """(bytes saved for backward that are not x's own storage, whether x itself was saved)"""
        fresh, has_x = [], []

        def pack(t):
            if t.data_ptr() == x.data_ptr() and t.shape == x.shape:
                has_x.append(True)
            else:
                fresh.append(t.numel() * t.element_size())
            return t

        w = torch.tensor(0.3, requires_grad=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            a, b, c = coefficients(kind, 0.0, w)
            SF.neuron_sequence(x, decay=a, scale=b, bias=c, backend=backend)
        return sum(fresh), bool(has_x)

    step = x[0].numel() * 4
    assert saved("loop") == (2 * step, True)  # x by reference, h recomputed from it
    assert saved("eager")[0] >= 3 * T * step
    plif_bytes, plif_x = saved("loop", "plif")  # plus PLIF's one-element coefficients
    assert plif_x and 2 * step < plif_bytes <= 2 * step + 64


@pytest.mark.parametrize("kind,v_reset,detach", [("leaky", None, True), ("lif", -0.2, False)])
def test_loop_walks_segments_of_a_time_transposed_input(kind, v_reset, detach):
    # BNTT's [T, B, ...] view of a [B, T, ...] tensor, over three segments (the last shorter),
    # sharing one backward work buffer
    from fullspike.engine.loop import LoopKernels

    T = 2 * LoopKernels.max_steps + 3
    x = sample(T=T, shape=(6, 3, 5), dtype=torch.float32).transpose(0, 1).contiguous().transpose(0, 1)
    assert not x.is_contiguous()
    assert_same("loop", x, kind, tol=1e-5, v_reset=v_reset, detach_reset=detach, strict=True, surrogate=Triangle())


def test_modules_take_a_backend_and_agree():
    torch.manual_seed(0)
    x = torch.randn(6, 2, 8) + 0.5
    for kind in ("if", "lif", "plif"):
        outs, grads = [], []
        for backend in ("eager", "loop"):
            torch.manual_seed(0)
            m = snn.make_neuron(kind, backend=backend, **({} if kind == "if" else {"tau": 2.0}))  # IF takes no tau
            xi = x.clone().requires_grad_()
            y = m(xi)
            (y * torch.arange(y.numel()).view_as(y)).sum().backward()
            outs.append(y)
            grads.append([xi.grad] + [p.grad for p in m.parameters()])
        assert torch.equal(outs[0], outs[1])
        for g0, g1 in zip(*grads):
            torch.testing.assert_close(g1, g0)
    assert "backend=loop" in repr(snn.LIF(backend="loop"))
    net = snn.SeqSequential(snn.IF(), torch.nn.Identity(), snn.PLIF())
    assert snn.set_backend(net, "loop", checkpoint=2) == 2
    assert [(m.backend, m.checkpoint) for m in (net[0], net[2])] == [("loop", 2)] * 2
    with pytest.raises(ConfigError, match="unknown neuron backend"):
        snn.set_backend(net, "gpu")
    with pytest.raises(ConfigError, match="unknown neuron backend"):
        snn.IF(backend="cuda")


def test_bad_backend_and_checkpoint_arguments():
    x = sample()
    with pytest.raises(ConfigError, match="choose one of"):
        SF.if_sequence(x, backend="fast")
    with pytest.raises(ConfigError, match="checkpoint"):
        SF.if_sequence(x, backend="eager", checkpoint=True)
    with pytest.raises(ConfigError, match="checkpoint"):
        SF.if_sequence(x, checkpoint=0)
    with pytest.raises(ConfigError, match="scalar"):
        SF.neuron_sequence(x, decay=torch.full((3, 5), 0.5, dtype=x.dtype), backend="inductor")


def test_explicit_unavailable_backend_raises(monkeypatch):
    monkeypatch.setattr(backends, "inductor_unavailable", lambda device: "no C++ compiler")
    with pytest.raises(ConfigError, match="no C\\+\\+ compiler"):
        SF.if_sequence(sample(), backend="inductor")
    if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        with pytest.raises(ConfigError, match="triton"):
            SF.if_sequence(sample(), backend="triton")


@pytest.mark.filterwarnings("ignore::fullspike.engine.inductor.CompileNotice")  # tested on its own below
def test_inductor_that_cannot_compile_warns_and_runs_the_same_loop(monkeypatch):
    from fullspike.engine import inductor, run_sequence

    def broken_compile(fn, **kwargs):
        def call(*args):
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(inductor.torch, "compile", broken_compile)
    kernels, x, spec = inductor.InductorKernels(), sample(dtype=torch.float32), _spec()
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler.*running it uncompiled"):
        out = run_sequence(x, 0.5, 0.5, 0.0, spec, kernels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the variant now runs uncompiled, without a new warning
        again = run_sequence(x, 0.5, 0.5, 0.0, spec, kernels)
    assert torch.equal(out, again)
    assert torch.equal(out, SF.neuron_sequence(x, decay=0.5, scale=0.5, backend="eager"))


def test_inductor_says_once_that_it_compiles(monkeypatch):
    from fullspike.engine import inductor, run_sequence

    monkeypatch.setattr(inductor.torch, "compile", lambda fn, **kwargs: fn)
    kernels, x = inductor.InductorKernels(), sample(dtype=torch.float32)
    with pytest.warns(inductor.CompileNotice, match="compiling its neuron kernels.*one-off"):
        run_sequence(x, 0.5, 0.5, 0.0, _spec(), kernels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # another variant compiles without a second notice
        run_sequence(x, 0.5, 0.5, 0.0, _spec(v_reset=None), kernels)


def test_auto_never_compiles_a_large_cpu_sequence(monkeypatch):
    from fullspike.engine import inductor

    def no_compile(fn, **kwargs):
        raise AssertionError("auto compiled")

    monkeypatch.setattr(inductor.torch, "compile", no_compile)
    x = sample(T=8, shape=(32, 16, 28, 28), dtype=torch.float32).requires_grad_()
    lif = snn.LIF()
    lif(x).sum().backward()
    assert x.grad.shape == x.shape
    with torch.no_grad():
        assert torch.equal(lif(x), snn.LIF(backend="eager")(x))


def _spec(**kw):
    from fullspike.functional import NeuronSpec

    base = dict(v_threshold=1.0, v_reset=0.0, detach_reset=False, strict=False, surrogate=Sigmoid())
    return NeuronSpec(**{**base, **kw})


def _cpu_float32_choice() -> str:
    """auto's backend for float32 on CPU: native where its C kernels build (tests/engine/test_native.py)."""
    return "native" if backends.native_unavailable(_spec()) is None else "loop"


def test_auto_choices_on_cpu():
    small = sample(dtype=torch.float32)
    assert backends.resolve("auto", small, (1.0, 1.0, 0.0), _spec()).name == _cpu_float32_choice()
    assert backends.resolve("auto", small.double(), (1.0, 1.0, 0.0), _spec()).name == "loop"
    per_neuron = torch.full((3, 5), 0.5)
    assert backends.resolve("auto", small, (per_neuron, 1.0, 0.0), _spec()).name == "loop"
    assert backends.resolve("auto", small, (torch.ones(2, 3, 5), 1.0, 0.0), _spec()) is None
    # auto never runs torch.compile on CPU, however large the sequence (a compile costs seconds)
    large = torch.empty(8, 1 << 17)
    assert backends.auto_choice(large, (1.0, 1.0, 0.0), _spec()) == _cpu_float32_choice()
    assert backends.auto_choice(large.double(), (0.5, 0.5, 0.0), _spec(surrogate=Box())) == "loop"


class OnCuda:
    """A stand-in for a CUDA input of ``dtype`` on a machine without one (``auto`` reads its device and dtype)."""

    device = torch.device("cuda")

    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype


@pytest.mark.parametrize(
    "dtype, surrogate, choice",
    [
        (torch.float32, Sigmoid(), "triton"),
        (torch.float16, Sigmoid(), "triton"),  # computed in float32 (docs/performance.md)
        (torch.bfloat16, Sigmoid(), "triton"),
        (torch.float32, Box(), "inductor"),
        (torch.float16, Box(), "inductor"),
        (torch.float64, Sigmoid(), "loop"),  # the Triton kernels would compute it in float32
        (torch.float64, Box(), "loop"),
    ],
)
def test_auto_choices_on_cuda(monkeypatch, dtype, surrogate, choice):
    monkeypatch.setattr(backends, "_has_triton", lambda: True)
    assert backends.auto_choice(OnCuda(dtype), (0.5, 0.5, 0.0), _spec(surrogate=surrogate)) == choice


def test_triton_refuses_float64_in_one_line(monkeypatch):
    monkeypatch.setattr(backends, "triton_unavailable", lambda device: None)  # CUDA and Triton are here
    monkeypatch.setattr(backends, "kernels", lambda name: name)
    with pytest.raises(ConfigError) as err:
        backends.resolve("triton", OnCuda(torch.float64), (0.5, 0.5, 0.0), _spec())
    assert str(err.value) == (
        "neuron backend 'triton' cannot run: its kernels compute in float32; the input is float64; use backend='auto'"
    )
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        assert backends.resolve("triton", OnCuda(dtype), (0.5, 0.5, 0.0), _spec()) == "triton"


@pytest.mark.slow
def test_auto_choice_does_not_depend_on_what_ran_before():
    # auto on a small CPU input takes the same backend after the same neuron was compiled
    if backends.inductor_unavailable("cpu"):
        pytest.skip(f"torch.compile cannot run here: {backends.inductor_unavailable('cpu')}")
    x = sample(T=4, shape=(2, 3), dtype=torch.float32)
    assert backends.auto_choice(x, (0.5, 0.5, 0.0), _spec()) == _cpu_float32_choice()
    SF.neuron_sequence(x, decay=0.5, scale=0.5, backend="inductor")
    assert backends.auto_choice(x, (0.5, 0.5, 0.0), _spec()) == _cpu_float32_choice()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        dict(kind="plif", v_reset=0.0, surrogate=ATan()),
        dict(kind="leaky", v_reset=None, detach_reset=True, strict=True, surrogate=Triangle(), checkpoint=3),
    ],
    ids=["plif-hard-atan", "bntt-leaky-checkpoint"],
)
def test_inductor_matches_eager(case):
    if backends.inductor_unavailable("cpu"):
        pytest.skip(f"torch.compile cannot run here: {backends.inductor_unavailable('cpu')}")
    kind = case.pop("kind")
    assert_same("inductor", sample(T=7, shape=(16, 40), dtype=torch.float32), kind, tol=1e-5, **case)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lif", "plif"])
def test_inductor_chains_segments_of_a_long_sequence(kind):
    # 20 steps exceed the compiled kernels' 16-step segments: two segments of 10 chained through
    # the membrane (forward) and dL/dv (backward); PLIF's coefficient gradient sums over them
    if backends.inductor_unavailable("cpu"):
        pytest.skip(f"torch.compile cannot run here: {backends.inductor_unavailable('cpu')}")
    from fullspike.engine.inductor import MAX_STEPS

    assert MAX_STEPS < 20
    x = sample(T=20, shape=(8, 3, 10), dtype=torch.float32)
    if kind == "plif":  # BNTT's layout: each segment is a time slice of a [T, B, ...] view
        x = x.transpose(0, 1).contiguous().transpose(0, 1)
    assert_same("inductor", x, kind, tol=1e-5, v_reset=0.0, surrogate=Sigmoid())


def test_inductor_reads_time_slices_of_a_transposed_input_in_place():
    from fullspike.engine.inductor import InductorKernels

    x = torch.zeros(8, 25, 4, 3, 3).transpose(0, 1)  # [T, B, C, H, W] view of [B, T, ...]
    assert InductorKernels._layout(x) == (25, 8, 36)
    assert InductorKernels._layout(x[12:25]) == (13, 8, 36)  # no copy for a segment either
    assert InductorKernels._layout(x.contiguous()[3:9]) == (6, 8 * 36)


def test_split_cuts_long_segments_into_near_equal_parts():
    from fullspike.engine.driver import _split

    assert _split([(0, 25)], 16) == [(0, 12), (12, 25)]
    assert _split([(0, 64)], 16) == [(0, 16), (16, 32), (32, 48), (48, 64)]
    assert _split([(0, 5), (5, 40)], 16) == [(0, 5), (5, 16), (16, 28), (28, 40)]
    assert _split([(0, 40)], None) == [(0, 40)]


@pytest.mark.slow
def test_inductor_reads_a_time_transposed_input():
    # BNTT hands its neurons [T, B, ...] views of a contiguous [B, T, ...] tensor
    if backends.inductor_unavailable("cpu"):
        pytest.skip(f"torch.compile cannot run here: {backends.inductor_unavailable('cpu')}")
    x = sample(T=4, shape=(6, 3, 5, 5), dtype=torch.float32).transpose(0, 1).contiguous().transpose(0, 1)
    assert not x.is_contiguous()
    assert_same("inductor", x, "leaky", tol=1e-5, v_reset=None, detach_reset=True, strict=True, surrogate=Triangle())


@pytest.mark.slow
def test_inductor_runs_an_untraceable_surrogate_uncompiled_with_a_warning():
    if backends.inductor_unavailable("cpu"):
        pytest.skip(f"torch.compile cannot run here: {backends.inductor_unavailable('cpu')}")

    class Branchy(Surrogate):  # data-dependent Python control flow: no full graph
        def grad(self, x):
            return torch.sigmoid(x) if float(x.sum()) > 0 else torch.zeros_like(x)

    with pytest.warns(RuntimeWarning, match="running it uncompiled"):
        assert_same("inductor", sample(), "lif", surrogate=Branchy())


TRITON_SCRIPT = textwrap.dedent("""
    import itertools, sys, torch
    sys.path.insert(0, {tests!r})
    from test_backends import assert_same, sample, SURROGATES
    for kind, vr, det, strict, surr in itertools.product(
            ["if", "lif", "plif", "leaky"], [0.0, None], [False, True], [False, True], SURROGATES):
        if (det + strict + SURROGATES.index(surr)) % 3:
            continue  # a third of the grid keeps the interpreter run short
        assert_same("triton", sample(T=5, dtype=torch.float32), kind, tol=1e-5, v_reset=vr,
                    detach_reset=det, strict=strict, surrogate=surr)
    assert_same("triton", sample(T=7, dtype=torch.float32), "plif", tol=1e-5, checkpoint=3)
    from triton_user_surrogate import Parabola
    assert_same("triton", sample(T=5, dtype=torch.float32), "lif", tol=1e-5, surrogate=Parabola())
    print("ok")
""")


@pytest.mark.slow
def test_triton_kernels_in_the_triton_interpreter():
    pytest.importorskip("triton")
    script = TRITON_SCRIPT.format(tests=os.path.dirname(__file__))
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    res = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-3000:]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("backend", ["triton", "inductor", "loop"])
@pytest.mark.parametrize(
    "kind,v_reset,detach", [("lif", 0.0, False), ("plif", 0.0, True), ("leaky", None, True), ("if", None, False)]
)
def test_gpu_backends_match_eager(backend, kind, v_reset, detach):
    x = sample(T=8, shape=(32, 33), dtype=torch.float32, device="cuda")
    assert_same(backend, x, kind, tol=1e-5, v_reset=v_reset, detach_reset=detach)


@pytest.mark.gpu
@needs_cuda
def test_auto_uses_triton_on_gpu():
    x = sample(dtype=torch.float32, device="cuda")
    assert backends.resolve("auto", x, (0.5, 0.5, 0.0), _spec()).name == "triton"
