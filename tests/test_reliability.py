"""Hostile input: whatever the arguments, files or faults, `fldm` ends with exit code 0 or 2 (1
would be an internal error, i.e. a bug), one line on stderr, no traceback, and no partial or
mismatched output."""

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sims import io as sio
from sims.cli import main
from sims.data import make_data, save_npz

N, D, M = 4, 10, 2  # every run is tiny: the data and weight files below have these sizes
BASE = {
    "train": [
        "--n",
        "4",
        "--d",
        "10",
        "--m",
        "2",
        "--steps",
        "4",
        "--log-every",
        "2",
        "--out",
        "OUT",
    ],
    "ode": [
        "--n",
        "4",
        "--d",
        "10",
        "--m",
        "2",
        "--steps",
        "4",
        "--log-every",
        "2",
        "--out",
        "OUT",
    ],
    "predict": ["--n", "4", "--d", "10", "--m", "2"],
}


TRAIN = BASE["train"][:-2]  # without --out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Data, weight and settings files, good and bad, named by what they are."""
    root = tmp_path_factory.mktemp("files")
    data = make_data(N, D, snr=0.5, rng=np.random.default_rng(1))
    save_npz(data, root / "data.npz")
    bad = {
        "zeros": dict(x1=0 * data.x1, x2=0 * data.x2),
        "zero_mu": dict(mu=0 * data.mu),
        "complex": dict(x1=data.x1 + 0j),
        "bool": dict(x2=data.x2 > 0),
        "huge": dict(x2=1e200 * data.x2),
        "tiny": dict(x2=1e-200 * data.x2),
        "nan": dict(x2=np.full_like(data.x2, np.nan)),
        "y_bool": dict(y=data.y > 0),
        "y_three": dict(y=np.arange(N)),
        "d2": dict(mu=data.mu[:, :2]),
        "text": dict(x1=np.array(["a"] * N)),
    }
    for name, change in bad.items():
        np.savez(
            root / f"{name}.npz", **{**dict(x1=data.x1, x2=data.x2, y=data.y, mu=data.mu), **change}
        )
    (root / "empty.npz").write_bytes(b"")
    (root / "truncated.npz").write_bytes((root / "data.npz").read_bytes()[:100])
    rng = np.random.default_rng(2)
    np.save(root / "W_diffusion.npy", 0.01 * rng.standard_normal((M, D)))
    np.save(root / "W_classification.npy", 0.01 * rng.standard_normal((2, M, D)))
    np.save(root / "W_m3.npy", 0.01 * rng.standard_normal((3, D)))
    np.save(root / "W_complex.npy", rng.standard_normal((M, D)) + 0j)
    np.save(root / "W_bool.npy", np.ones((M, D), bool))
    np.save(root / "W_huge.npy", 1e300 * np.ones((M, D)))
    np.save(root / "W_1d.npy", np.ones(D))
    np.save(root / "W_scalar.npy", np.float64(1.0))
    np.savez(root / "W_npz.npz", W=np.zeros((M, D)))
    tomls = {
        "good": "sigma_xi = 0.5\nseed = 3\n",
        "eta_auto": 'eta = "auto"\n',
        "twice": "sigma_xi = 1\nsigma-xi = 2\n",
        "data_int": "data = 5\n",
        "times_int": "times = 5\n",
        "data_table": "[data]\nx = 1\n",
        "times": "times = [[0.7, 0.7, 1.0], [0.9, 0.4, 0.5]]\n",
        "unknown": "learning_rate = 1\n",
        "syntax": "n = \n",
        "model": 'model = "classification"\n',
        "n_conflict": "n = 7\n",
        "other_model": "alpha = 0.5\nn_test = 10\n",
        "bad_utf8": None,
    }
    for name, text in tomls.items():
        (root / f"{name}.toml").write_bytes(b"\xff\xfe" if text is None else text.encode())
    (root / "deep.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    (root / "pk_not_zip.npz").write_bytes(b"PK not a zip archive")
    with zipfile.ZipFile(root / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as zf:  # 8 MB of zeros
        with zf.open("junk.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(1_000_000))
    with open(root / "W_promise.npy", "wb") as f:  # a header promising far more than the file
        header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
        np.lib.format.write_array_header_1_0(f, header)
    np.savez(root / "huge_scale.npz", x1=data.x1, x2=1e49 * data.x2, y=data.y, mu=data.mu)
    odd = root / "odd"  # paths that exist but are no regular file
    odd.mkdir()
    os.mkfifo(odd / "fifo")
    os.symlink(odd / "loop", odd / "loop")
    os.symlink(odd / "gone", odd / "dangling")
    (odd / "folder").mkdir()
    (root / "afile").write_text("x")
    return root


ODD = ["odd/fifo", "odd/loop", "odd/dangling", "odd/folder", "/dev/zero"]


def numbers(low=1e-3, high=1e3):
    """Numbers of every sign and size as text, text that is not a number, and (as often) a valid
    value."""
    valid = st.floats(low, high).map(repr)
    return st.one_of(
        valid,
        valid,
        valid,
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(-(10**30), 10**30).map(str),
        st.sampled_from(
            [
                "0",
                "-0",
                "1e-320",
                "1e308",
                "1e51",
                "1e-51",
                "1e50",  # in range, but products of several such overflow float64
                "1e40",
                "1e-50",
                "1e-40",
                "9" * 5000,
                "x" * 5000,
                "2**3",
                "",
                " ",
                "abc",
                "auto",
                "1,5",
                "0x10",
            ]
        ),
    )


def small_ints(low, high):
    """A valid small value (as often as not), or an invalid one, which must be refused before any
    work: below the range, beyond the machine's memory or int64, or not an integer."""
    valid = st.integers(low, high).map(str)
    return st.one_of(
        valid,
        valid,
        valid,
        st.integers(-(10**20), low - 1).map(str),
        st.integers(10**12, 10**40).map(str),
        st.sampled_from(["1.5", "nan", "inf", "x", "", "1e3"]),
    )


def option_values(files):
    f = lambda name: str(files / name)
    return {
        "--n": small_ints(1, 6),
        "--d": small_ints(3, 12),
        "--m": small_ints(1, 3),
        "--steps": small_ints(1, 6),
        "--log-every": small_ints(1, 4),
        "--noise-samples": small_ints(1, 3),
        "--n-test": small_ints(1, 50),
        "--seed": st.one_of(st.integers(-5, 2**70).map(str), numbers(), st.just("7" * 5000)),
        **{
            opt: numbers()
            for opt in ("--snr", "--nsnr2", "--sigma-xi", "--alpha", "--beta", "--scale")
        },
        "--sigma0": numbers(1e-4, 1.0),
        "--eta": numbers(1e-4, 10.0),
        "--tol": numbers(0.0, 1.0),
        "--noise": st.sampled_from(["exact", "resampled", "fixed", "other", ""]),
        "--engine": st.sampled_from(["auto", "span", "full", "gpu"]),
        "--data-noise": st.sampled_from(["projected", "isotropic", "orthogonal", "x"]),
        "--labels": st.sampled_from(["random", "balanced", "x"]),
        "--data": st.sampled_from(
            [f(p.name) for p in sorted(files.glob("*.npz")) if not p.name.startswith("W")]
            + [f("missing.npz"), f("W_diffusion.npy"), str(files), ""]
            + [f(p) for p in ODD]
        ),
        "--init": st.sampled_from(
            [f(p.name) for p in sorted(files.glob("W*"))]
            + [f("missing.npy"), f("data.npz"), ""]
            + [f(p) for p in ODD]
        ),
        "--config": st.sampled_from(
            [f(p.name) for p in sorted(files.glob("*.toml"))] + [""] + [f(p) for p in ODD[:-1]]
        ),
        "--out": st.sampled_from(["OUT"] * 6 + ["", f("afile"), f("afile/x")]),
    }


@st.composite
def argument_vectors(draw, files):
    command = draw(st.sampled_from(["train", "ode", "predict"]))
    model = draw(st.sampled_from(["diffusion"] * 4 + ["classification"] * 4 + ["regression"]))
    values = option_values(files)
    chosen = draw(
        st.lists(st.sampled_from(sorted(values)), max_size=5)
    )  # repeats: the same option twice
    extra = [x for opt in chosen for x in (opt, draw(values[opt]))]
    flags = draw(
        st.lists(
            st.sampled_from(["--no-progress"] + ["--json"] * (command == "predict")), max_size=2
        )
    )
    return [command, model, *BASE[command], *flags, *extra]


def npz_sha256(path):
    with np.load(path) as f:
        return sio.arrays_sha256({k: f[k] for k in f.files})


def run(argv):
    """main(argv) in this process: (exit code, stdout, stderr, warnings)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), [str(w.message) for w in caught]


def given_paths(argv):
    """The file and folder names given to --data, --init, --config and --out."""
    opts = ("--data", "--init", "--config", "--out")
    return [v for opt, v in zip(argv, argv[1:]) if opt in opts]


def check_outcome(argv, code, stdout, stderr, caught, out):
    assert code in (0, 2), (argv, stderr)
    assert "Traceback" not in stderr and not caught, (argv, stderr, caught)
    lines = [line for line in stderr.splitlines() if not line.startswith("fldm: note:")]
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("fldm: error:"), (argv, stderr)
        longest = max(map(len, lines[0].split()))  # a value is echoed shortened (sims.cli.shorten)
        assert longest < 200 and ".tmp" not in lines[0], (argv, "a long or temporary name")
        assert "pickle" not in lines[0] and "File exists" not in lines[0], (argv, stderr)
        for path in given_paths(argv):  # "does not exist" only of what does not exist
            assert not (path and os.path.lexists(path) and f"{path} does not exist" in stderr)
        assert not out.is_dir() or out.is_symlink(), (argv, "partial output")
        return
    assert str(out) in given_paths(argv) or argv[0] == "predict", (argv, "an odd --out accepted")
    assert not lines, (argv, stderr)
    if argv[0] == "predict":
        assert not out.exists()
        assert json.loads(stdout) if "--json" in argv else stdout.strip()  # strict JSON, or words
        return
    printed = json.loads(stdout)  # strict JSON
    assert sorted(p.name for p in out.iterdir()) == ["result.json", "result.npz"], argv
    meta = json.loads((out / "result.json").read_text())
    assert meta["arrays_sha256"] == npz_sha256(out / "result.npz")
    assert printed["out"] == str(out)


def check_argument_vector(files, tmp_path_factory, monkeypatch, data):
    """Valid settings at extreme scales make the alignment ODE stiff: a smaller budget of gradient
    evaluations (theory.ode.MAX_EVALS) keeps them quick; the solver then gives up and says so."""
    monkeypatch.setattr("theory.ode.MAX_EVALS", 3000)
    argv = data.draw(argument_vectors(files))
    where = tmp_path_factory.mktemp("run")
    monkeypatch.chdir(where)  # an empty --out must not write here
    out = where / "out"
    argv = [str(out) if a == "OUT" else a for a in argv]
    outs = [v for opt, v in zip(argv, argv[1:]) if opt == "--out"]
    given = Path(outs[-1]) if outs and outs[-1] else out
    check_outcome(argv, *run(argv), given)
    assert sorted(p.name for p in where.iterdir()) in ([], ["out"]), (argv, "wrote elsewhere")


UNCHECKED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=100, suppress_health_check=UNCHECKED)
@given(data=st.data())
def test_any_argument_vector_ends_in_exit_0_or_2(files, tmp_path_factory, monkeypatch, data):
    check_argument_vector(files, tmp_path_factory, monkeypatch, data)


@pytest.mark.slow
@settings(max_examples=1500, suppress_health_check=UNCHECKED)
@given(data=st.data())
def test_many_argument_vectors_end_in_exit_0_or_2(files, tmp_path_factory, monkeypatch, data):
    check_argument_vector(files, tmp_path_factory, monkeypatch, data)


@settings(max_examples=30, deadline=None, suppress_health_check=UNCHECKED)
@given(
    command=st.sampled_from(["train", "ode", "predict"]),
    model=st.sampled_from(["diffusion", "classification"]),
    option=st.sampled_from(["--snr", "--sigma-xi", "--sigma0", "--data"]),
    size=st.sampled_from(["1e50", "1e45", "1e40", "1e35", "1e30"]),
)
def test_extreme_scales_give_a_result_or_one_line_and_never_a_warning(
    files, tmp_path_factory, command, model, option, size
):
    """The numbers family at its edge: settings in range whose products may leave float64 (a scale
    up to 1e50, or data entries that large) end in a result or in one line naming the product, with
    no numpy warning and no internal error."""
    value = str(files / "huge_scale.npz") if option == "--data" else size
    argv = [command, model, *BASE[command][:6], option, value]
    if option == "--data":
        argv = [command, model, "--m", "2", option, value]
    out = tmp_path_factory.mktemp("run") / "out"
    argv += [] if command == "predict" else ["--steps", "4", "--out", str(out)]
    code, stdout, stderr, caught = run(argv)
    check_outcome(argv, code, stdout, stderr, caught, out)
    if code == 2:
        assert "float64" in stderr or "must be" in stderr, stderr


@settings(max_examples=30, deadline=None, suppress_health_check=UNCHECKED)
@given(
    command=st.sampled_from(["train", "ode", "predict"]),
    option=st.sampled_from(["--data", "--init", "--config", "--out"]),
    path=st.sampled_from([*ODD, "", "afile", "afile/x", "pk_not_zip.npz", "bomb.npz", "deep.toml"]),
)
def test_odd_files_and_paths_get_a_true_line(files, tmp_path_factory, monkeypatch, command, option,
                                             path):  # fmt: skip
    """The files and paths family: a path that is empty, no regular file (or, for --out, no folder),
    in a file's way, or a file that is not what it claims gets one line saying what it is; nothing
    is written anywhere."""
    if option == "--out" and path == "odd/folder":
        path = "odd/folder/afile/x"  # a folder is a fine --out; a file under it in the way is not
        (files / "odd/folder/afile").write_text("x")
    where = tmp_path_factory.mktemp("run")
    monkeypatch.chdir(where)
    value = str(files / path) if path and not path.startswith("/") else path
    argv = ["train" if option == "--out" else command, "diffusion", *BASE["train"][:-2], option,
            value]  # fmt: skip
    code, stdout, stderr, caught = run(argv)
    out = Path(value) if option == "--out" and value else where / "out"
    check_outcome(argv, code, stdout, stderr, caught, out)
    assert code == 2 and not list(where.iterdir()), (argv, stderr)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["train", "diffusion", "--n", "1000000000000"],
            r"needs about .* GB of memory .* this machine has",
        ),
        (["train", "diffusion", "--d", "10000000000", "--n", "5"], r"needs about .* GB of memory"),
        (
            ["train", "diffusion", "--snr", "1e308"],
            r"snr must be a positive finite number between 1e-50 and 1e\+50",
        ),
        (["train", "diffusion", "--alpha", "1e300"], "alpha must be"),
        (["train", "diffusion", "--n", str(2**64)], r"n must be at most"),
        (["train", "diffusion", "--data", "{huge.npz}"], r"x2: entries beyond 1e\+50"),
        (["train", "diffusion", "--data", "{tiny.npz}"], r"x2 row 0 \(a noise patch\) is zero"),
        (["predict", "diffusion", "--data", "{zeros.npz}"], r"x1 row 0 \(a signal patch\) is zero"),
        (["train", "diffusion", "--data", "{zero_mu.npz}"], r"mu row 0 \(a signal\) is zero"),
        (
            ["train", "diffusion", "--data", "{complex.npz}"],
            "x1: must hold real numbers, got dtype complex128",
        ),
        (
            ["train", "diffusion", "--data", "{bool.npz}"],
            "x2: must hold real numbers, got dtype bool",
        ),
        (
            ["train", "diffusion", "--data", "{y_bool.npz}"],
            "y: must hold real numbers, got dtype bool",
        ),
        (
            ["train", "diffusion", "--data", "{empty.npz}"],
            "is not a numpy file; --data takes an .npz archive",
        ),
        (
            ["train", "diffusion", "--init", "{empty.npz}"],
            r"is not a numpy file; --init takes one array saved with numpy.save",
        ),
        (
            ["train", "diffusion", "--data", "{data.npz}", "--init", "{W_npz.npz}"],
            r"\.npz archive; --init takes one array",
        ),
        (
            ["train", "diffusion", "--data", "{data.npz}", "--init", "{W_complex.npy}"],
            "must hold real numbers",
        ),
        (
            ["train", "diffusion", "--data", "{data.npz}", "--init", "{W_bool.npy}"],
            "must hold real numbers",
        ),
        (
            ["train", "diffusion", "--data", "{data.npz}", "--init", "{W_1d.npy}"],
            r"a diffusion model needs \(m, d\)",
        ),
        (
            ["train", "classification", "--data", "{data.npz}", "--init", "{W_diffusion.npy}"],
            r"needs \(2, m, d\)",
        ),
        (
            ["train", "diffusion", "--data", "{data.npz}", "--n", "7"],
            "n = 7 conflicts with .*data.npz, which has n = 4",
        ),
        (
            ["train", "diffusion", "--init", "{W_m3.npy}", "--m", "4"],
            "m = 4 conflicts with .*W_m3.npy, which has m = 3",
        ),
        (
            ["train", "diffusion", "--data", "{data.npz}", "--snr", "2"],
            "--snr does not apply .*: the data file fixes",
        ),
        (
            ["train", "classification", "--alpha", "0.5"],
            "--alpha does not apply to fldm train classification",
        ),
        (["train", "diffusion", "--noise-samples", "4"], "--noise-samples does not apply"),
        (["ode", "diffusion", "--noise", "resampled"], "--noise does not apply to fldm ode"),
        (["predict", "diffusion", "--out", "x"], "--out does not apply to fldm predict"),
        (["predict", "diffusion", "--steps", "5"], "--steps does not apply to fldm predict"),
        (["train", "diffusion", "--config", "{twice.toml}"], "sets sigma_xi twice"),
        (["train", "diffusion", "--config", "{data_int.toml}"], "data must be a file name, got 5"),
        (["train", "diffusion", "--config", "{data_table.toml}"], "data must be a file name"),
        (["train", "diffusion", "--config", "{times_int.toml}"], "times must be a list"),
        (
            ["train", "diffusion", "--config", "{times.toml}", "--alpha", "0.5"],
            "--alpha does not apply",
        ),
        (["train", "diffusion", "--config", "{model.toml}"], "sets model = 'classification'"),
        (["train", "diffusion", "--config", "{bad_utf8.toml}"], "cannot parse"),
    ],
)
def test_refused_with_one_line(files, tmp_path, args, message):
    argv = [str(files / a[1:-1]) if a.startswith("{") else a for a in args]
    out = tmp_path / "out"
    argv += [] if argv[0] == "predict" else ["--out", str(out)]
    code, stdout, stderr, caught = run(argv)
    assert code == 2 and re.search(message, stderr), stderr
    check_outcome(argv, code, stdout, stderr, caught, out)


def test_inferred_sizes_and_resolved_eta(files, tmp_path):
    """n, d from --data and m from --init; a TOML `eta = "auto"`; result.json records the eta
    used."""
    out = tmp_path / "o"
    code, _, stderr, _ = run(
        [
            "train",
            "diffusion",
            "--data",
            str(files / "data.npz"),
            "--init",
            str(files / "W_m3.npy"),
            "--config",
            str(files / "eta_auto.toml"),
            "--steps",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0, stderr
    meta = json.loads((out / "result.json").read_text())
    assert (meta["config"]["n"], meta["config"]["d"], meta["config"]["m"]) == (N, D, 3)
    assert meta["eta_auto"] and meta["config"]["eta"] == meta["summary"]["eta"] > 0


def test_toml_settings_for_other_models_are_said_and_ignored(files, tmp_path):
    code, _, stderr, _ = run(
        [
            "train",
            "diffusion",
            *TRAIN,
            "--config",
            str(files / "other_model.toml"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0 and "ignoring n_test" in stderr
    assert json.loads((tmp_path / "o" / "result.json").read_text())["config"]["alpha"] == 0.5


def test_replacing_a_result_is_said(tmp_path):
    argv = ["train", "diffusion", *TRAIN, "--out", str(tmp_path / "o")]
    assert run(argv)[0] == 0
    code, _, stderr, _ = run(argv)
    assert code == 0 and "holds an earlier result; this run replaces it" in stderr


def test_interrupt_says_truthfully_what_is_on_disk(tmp_path, monkeypatch):
    import sims.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sims.train, "train", interrupted)
    code, _, stderr, _ = run(["train", "diffusion", *TRAIN, "--out", str(tmp_path / "o")])
    assert code == 130 and "nothing was written" in stderr and not (tmp_path / "o").exists()


def test_internal_error_is_one_line_and_debug_shows_the_traceback(tmp_path, monkeypatch):
    import sims.train

    def broken(*args, **kwargs):
        raise ZeroDivisionError("deliberate")

    monkeypatch.setattr(sims.train, "train", broken)
    argv = ["train", "diffusion", *TRAIN, "--out", str(tmp_path / "o")]
    code, _, stderr, _ = run(argv)
    assert code == 1 and stderr == (
        "fldm: internal error: ZeroDivisionError: deliberate; rerun with --debug for "
        "the traceback\n"
    )
    code, _, stderr, _ = run(argv + ["--debug"])
    assert code == 1 and "Traceback" in stderr and not (tmp_path / "o").exists()


def test_a_second_run_into_a_held_folder_fails(tmp_path):
    """While one run holds its output folder (io.claim), a second run into it fails with one line
    and writes nothing; the pair it leaves is the first run's, intact."""
    out = tmp_path / "o"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom sims import io\n"
            f"with io.claim({str(out)!r}):\n    print('held', flush=True)\n    sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        code, _, stderr, _ = run(["train", "diffusion", *TRAIN, "--out", str(out)])
        assert code == 2 and stderr == (
            f"fldm: error: {out} is being written by another run; wait for it to "
            "finish or choose another output folder\n"
        )
        assert list(out.iterdir()) == []
    finally:
        holder.communicate("")
    assert not out.exists()  # the holder created it and removed it, empty


def test_concurrent_runs_leave_one_matching_pair(tmp_path):
    """Two `fldm train` runs with different seeds into one folder at once: one writes, the other
    fails or writes after it; the pair on disk always comes from a single run (checksum and seed
    agree)."""
    out = tmp_path / "o"
    argv = [sys.executable, "-m", "sims", "train", "diffusion", *TRAIN, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for trial in range(3):
        procs = [
            subprocess.Popen(
                argv + ["--seed", str(10 * trial + k)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for k in (1, 2)
        ]
        results = [p.communicate() + (p.returncode,) for p in procs]
        assert all(code in (0, 2) and "Traceback" not in err for _, err, code in results), results
        assert any(code == 0 for _, _, code in results)
        meta = json.loads((out / "result.json").read_text())
        assert meta["arrays_sha256"] == npz_sha256(out / "result.npz")
        with np.load(out / "result.npz") as f:
            W = f["W"]
        winners = [json.loads(o) for o, _, code in results if code == 0]
        assert meta["seed"] in {10 * trial + k for k in (1, 2)} and W.shape == (M, D)
        assert any(w["final_loss"] == meta["summary"]["final_loss"] for w in winners)


def stop_a_run(tmp_path, name, script=None):
    """Start `fldm train` (a long run, or `script` given main's argv), send it the signal `name`
    once it holds its output folder, and return (exit code, stderr, output folder). The child is
    killed if it hangs."""
    import signal
    import time

    out = tmp_path / "o"
    argv = [
        "train",
        "diffusion",
        "--n",
        "4",
        "--d",
        "10",
        "--steps",
        "10000000",
        "--log-every",
        "100000",
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = ["-m", "sims", *argv] if script is None else ["-c", script, *argv]
    proc = subprocess.Popen(
        [sys.executable, *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # as in `cmd &`
    try:
        for _ in range(600):  # the run has started once it holds its output folder
            if out.exists():
                break
            time.sleep(0.05)
        proc.send_signal(getattr(signal, name))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err, out


@pytest.mark.parametrize("name, code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_signal_ends_a_run_with_one_line_and_nothing_half_written(tmp_path, name, code):
    """A run stopped by a signal says so in one line, exits 128 + the signal number, and leaves
    neither its (new, empty) output folder nor temporary files."""
    returncode, err, out = stop_a_run(tmp_path, name)
    verb = "interrupted" if name == "SIGINT" else f"stopped by {name}"
    assert returncode == code and err == f"fldm: {verb}; nothing was written ({out} is as it was)\n"
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_stop_signal_ends_the_run_even_if_its_exception_is_swallowed(tmp_path):
    """The exception a signal handler raises can be lost (e.g. inside an extension module's import):
    the command still exits, GRACE seconds later, with the same line and nothing left behind."""
    script = """if True:
        import sys, time
        import sims.cli, sims.signals, sims.train
        sims.signals.GRACE = 0.5
        def stubborn(*args, **kwargs):
            while True:
                try:
                    time.sleep(0.01)
                except BaseException:
                    pass
        sims.train.train = stubborn
        sys.exit(sims.cli.main(sys.argv[1:]))
    """
    returncode, err, out = stop_a_run(tmp_path, "SIGTERM", script)
    assert (
        returncode == 143
        and err == f"fldm: stopped by SIGTERM; nothing was written ({out} is as it was)\n"
    )
    assert not out.exists()


def test_stop_signals_wait_while_a_result_pair_is_written():
    import argparse
    import signal

    from sims.signals import Stopped, StopSignals

    stops = StopSignals(argparse.Namespace(on_disk="nothing was written"))
    stops.install()
    try:
        written = False
        with pytest.raises(Stopped):
            with stops.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(100):  # the handler has run by the end of this loop
                    sum(range(1000))
                written = True  # not reached if the signal stopped the block
        assert written
    finally:
        stops.restore()


# ------------------------------------------------------------------------------------- sweeps and
# studies


def sweep_cells(count=2, steps=20):
    from sims.config import TrainConfig

    return [
        (
            "train",
            TrainConfig(model=model, n=6, d=30, m=2, nsnr2=1.0, steps=steps, log_every=10, seed=k),
        )
        for k, model in enumerate(
            ("diffusion", "classification", "diffusion", "classification")[:count]
        )
    ]


def damage(kind: str, npz: Path, meta: Path, other_npz: Path) -> None:
    """Damage one cached cell the way a crash, a full disk or a careless copy does."""
    if kind == "npz truncated":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    elif kind == "npz empty":
        npz.write_bytes(b"")
    elif kind == "npz missing":
        npz.unlink()
    elif kind == "npz of another cell":
        npz.write_bytes(other_npz.read_bytes())
    elif kind == "json empty object":
        meta.write_text("{}")
    elif kind == "json truncated":
        meta.write_text(meta.read_text()[:20])
    elif kind == "json not an object":
        meta.write_text("[1, 2]")
    elif kind == "json not utf-8":
        meta.write_bytes(b"\xff\xfe\x00")


@pytest.mark.parametrize(
    "kind",
    [
        "npz truncated",
        "npz empty",
        "npz missing",
        "npz of another cell",
        "json empty object",
        "json truncated",
        "json not an object",
        "json not utf-8",
    ],
)
def test_a_damaged_cache_cell_is_recomputed_and_counted(tmp_path, capsys, kind):
    from sims.studies.sweep import Cache, cell_key, run_cells

    cells = sweep_cells()
    first = run_cells(cells, Cache(tmp_path), progress=False)
    keys = [cell_key(*c) for c in cells]
    damage(
        kind, tmp_path / f"{keys[0]}.npz", tmp_path / f"{keys[0]}.json", tmp_path / f"{keys[1]}.npz"
    )
    capsys.readouterr()
    again = run_cells(cells, Cache(tmp_path), progress=False)
    assert capsys.readouterr().err == (
        f"fldm: note: 1 damaged cell(s) in {tmp_path} (unreadable, edited, or not matching their "
        "checksums or their file names): recomputing them\n"
    )
    for a, b in zip(first, again):
        assert a.summary == b.summary and all(
            np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays
        )
    assert Cache(tmp_path).load(keys[0]) is not None  # repaired on disk
    run_cells(cells, Cache(tmp_path), progress=False)
    assert capsys.readouterr().err == ""


def test_an_unfinished_cell_is_not_counted_as_damaged(tmp_path, capsys):
    """An npz without its json is a cell killed in flight: recomputed without a note."""
    from sims.studies.sweep import Cache, cell_key, run_cells

    cells = sweep_cells(1)
    run_cells(cells, Cache(tmp_path), progress=False)
    (tmp_path / f"{cell_key(*cells[0])}.json").unlink()
    cache = Cache(tmp_path)
    capsys.readouterr()
    run_cells(cells, cache, progress=False)
    assert not cache.damaged and capsys.readouterr().err == ""


def children(pid: int) -> set[int]:
    """The live processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start_sweep(tmp_path, workers: int = 2):
    """A sweep of long cells on `workers` worker processes, in a child process; (process, its
    workers)."""
    import time

    script = f"""if True:
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_reliability import sweep_cells
        from sims.studies.sweep import Cache, run_cells
        from sims.signals import StopSignals
        import argparse
        StopSignals(argparse.Namespace(on_disk="finished cells are kept")).install()
        cache = Cache({str(tmp_path / "cache")!r})
        run_cells(sweep_cells(4, steps=10**7), cache, jobs={workers}, progress=False)
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while len(children(proc.pid)) < workers and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the workers are computing
    return proc, children(proc.pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGKILL"])
def test_no_worker_outlives_a_stopped_sweep(tmp_path, name):
    """SIGTERM: the main process ends its workers and exits; SIGKILL: the workers notice their
    parent is gone and exit by themselves (within a few polls). Either way no worker survives."""
    import signal
    import time

    proc, workers = start_sweep(tmp_path)
    try:
        assert len(workers) >= 2
        proc.send_signal(getattr(signal, name))
        proc.communicate(timeout=60)
        deadline = time.time() + 20
        while any(alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if alive(w)]
    finally:
        for w in workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_reproduce_stopped_by_sigterm_ends_its_workers(tmp_path):
    """`fldm reproduce --jobs 2` stopped by SIGTERM: one line, exit code 143, no worker left."""
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sims",
            "reproduce",
            "--preset",
            "tiny",
            "--jobs",
            "2",
            "--out",
            str(tmp_path / "out"),
            "--cache",
            str(tmp_path / "cache"),
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = set()
    try:
        deadline = time.time() + 120
        while len(workers) < 2 and time.time() < deadline:
            workers |= children(proc.pid)
            time.sleep(0.05)
        assert len(workers) >= 2
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143
        assert err == (
            f"fldm: stopped by SIGTERM; {tmp_path / 'out'} is as it was; finished cells are kept "
            f"in {tmp_path / 'cache'}; a rerun resumes from them\n"
        )
        time.sleep(0.5)
        assert not [w for w in workers if alive(w)]
    finally:
        for w in workers:
            if alive(w):
                os.kill(w, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_idx_sizes_whose_product_wraps_int64_are_refused(tmp_path):
    import struct

    from sims import FldmError
    from sims.studies.mnist_data import read_idx

    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(
        struct.pack(">iiii", 0x803, 2**30, 2**30, 16) + bytes(16)
    )  # 2^64 bytes: wraps to 0 in int64
    with pytest.raises(FldmError, match=r"need 18446744073709551616 data bytes, file has 16"):
        read_idx(path)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["reproduce", "--seed", "-1"],
            "argument --seed: must be a non-negative integer, got '-1'",
        ),
        (["reproduce", "--jobs", "0"], "argument --jobs: must be a positive integer, got '0'"),
        (["mnist", "--seed", "x"], "argument --seed: must be a non-negative integer, got 'x'"),
    ],
)
def test_study_commands_refuse_bad_numbers_before_writing(tmp_path, args, message):
    out = tmp_path / "out"
    code, _, stderr, _ = run(args + ["--out", str(out), "--cache", str(tmp_path / "cache")])
    assert (
        code == 2 and message in stderr and not out.exists() and not (tmp_path / "cache").exists()
    )


# ------------------------------------------------------------ families: signals and edited results

HOOK = """if True:
    import os, signal, sys
    name, when, how = sys.argv[1:4]
    class Hook:  # sends the signal when `when` is first imported: during the command's imports
        def find_spec(self, fullname, path, target=None):
            if fullname == when:
                sys.meta_path.remove(self)
                os.kill(os.getpid(), getattr(signal, name))
    sys.meta_path.insert(0, Hook())
    sys.argv = ["/usr/local/bin/fldm", *sys.argv[4:]]  # as the console script sees itself
    if how == "script":
        from sims.cli import main  # the `fldm` entry point: sims.cli:main
        sys.exit(main())
    import runpy
    runpy.run_module("sims", run_name="__main__", alter_sys=True)  # python -m sims
"""
CODES = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}


def run_hooked(name, when, how, tmp_path):
    """`fldm train` as its console script (how="script") or `python -m sims` ("module") runs it,
    sent the signal `name` when the module `when` is first imported: (exit code, stderr, output
    folder)."""
    out = tmp_path / "o"
    p = subprocess.run(
        [
            sys.executable,
            "-c",
            HOOK,
            name,
            when,
            how,
            "train",
            "diffusion",
            *TRAIN,
            "--out",
            str(out),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return p.returncode, p.stderr, out


@settings(max_examples=12, deadline=None, suppress_health_check=UNCHECKED)
@given(
    name=st.sampled_from(sorted(CODES)),
    when=st.sampled_from(
        ["numpy", "sims.io", "sims.config", "sims.models", "sims.studies", "sims.train"]
    ),
    how=st.sampled_from(["script", "module"]),
)
def test_a_stop_signal_at_any_import_ends_with_one_line(tmp_path_factory, name, when, how):
    """Wherever the imports are when a stop signal comes (before the command, or its own lazy
    imports), the command ends with one line and the signal's code, and writes nothing."""
    code, err, out = run_hooked(name, when, how, tmp_path_factory.mktemp("signal"))
    verb = "interrupted" if name == "SIGINT" else f"stopped by {name}"
    assert (code, err) == (CODES[name], f"fldm: {verb}; nothing was written\n")
    assert not out.exists()


@pytest.fixture(scope="module")
def pristine_cache(tmp_path_factory):
    """A cache of two finished cells, their results and keys."""
    from sims.studies.sweep import Cache, cell_key, run_cells

    folder = tmp_path_factory.mktemp("cache")
    cells = sweep_cells()
    results = run_cells(cells, Cache(folder), progress=False)
    return folder, cells, results, [cell_key(*c) for c in cells]


def leaves(obj, path=()):
    """(path, value) of every leaf of a JSON value, and of every dict and list (replaced whole)."""
    yield path, obj
    if isinstance(obj, dict):
        items = obj.items()
    else:
        items = enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from leaves(v, (*path, k))


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=40, deadline=None, suppress_health_check=UNCHECKED)
@given(data=st.data())
def test_any_edit_of_a_cached_cell_is_recomputed_and_counted(
    pristine_cache, tmp_path_factory, capsys, data
):
    """Whatever value of a cell's json is changed (summary, config, kind, version, checksums; a
    value or a whole part), or removed, the sweep recomputes that cell, returns the true results and
    counts it as damaged; a reformatted json (its content unchanged) is reused."""
    import shutil

    from sims.studies.sweep import Cache, run_cells

    source, cells, first, keys = pristine_cache
    folder = tmp_path_factory.mktemp("edited")
    for p in source.iterdir():
        shutil.copy(p, folder / p.name)
    path = folder / f"{data.draw(st.sampled_from(keys))}.json"
    meta = json.loads(path.read_text())
    where, old = data.draw(st.sampled_from([lp for lp in leaves(meta) if lp[0]]))
    how = data.draw(st.sampled_from(["replace", "remove", "reformat"]))
    parent = meta
    for k in where[:-1]:
        parent = parent[k]
    if how == "replace":
        new = data.draw(json_values.filter(lambda v: v != old or type(v) is not type(old)))
        parent[where[-1]] = new
    elif how == "remove":
        del parent[where[-1]]
    path.write_text(json.dumps(meta, indent=data.draw(st.sampled_from([None, 1, 4]))))
    from sims import progress

    capsys.readouterr()
    with getattr(progress, "command", contextlib.nullcontext)():  # the command's closing line
        again = run_cells(cells, Cache(folder), progress=False)
    err = capsys.readouterr().err
    for a, b in zip(first, again):
        assert a.summary == b.summary, (where, how)
        assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
    counts = (
        "2 cells: 0 computed, 2 from the cache"
        if how == "reformat"
        else "2 cells: 1 computed (1 of them damaged in the cache), 1 from the cache"
    )
    assert counts in err, (where, how, err)
