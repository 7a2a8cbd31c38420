"""The model interface (sims.models.Model): every registered model answers every member, its theory
hooks name functions that exist, its option groups are known, and the command line refuses a setting
of a group the model does not take."""

import inspect
from dataclasses import fields

import numpy as np
import pytest

from sims import FldmError, models
from sims.config import TrainConfig, inapplicable, takers, takes

MODELS = list(models.MODELS.values())
MEMBERS = [
    name
    for name, _ in inspect.getmembers(models.Model)
    if not name.startswith("_") and name not in dir(object)
]
ATTRIBUTES = ("name", "options", "look", "theory", "signed")


def test_the_protocol_lists_every_method_of_the_models():
    """No model has a public method the interface does not document (the interface is the whole
    story)."""
    documented = set(MEMBERS) | set(ATTRIBUTES)
    for model in MODELS:
        public = {n for n in dir(model) if not n.startswith("_")}
        assert public <= documented, (model.name, public - documented)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_model_answers_every_member(model):
    for name in MEMBERS:
        assert callable(getattr(model, name)), name
    for name in ATTRIBUTES:
        assert hasattr(model, name), name
    assert models.get(model.name) is model
    assert model.options <= set(models.OPTION_GROUPS)
    assert model.look.growth in ("linear", "exponential")
    assert isinstance(model.look.log_axis, bool) and isinstance(model.signed, bool)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_theory_hooks_name_functions_that_exist(model):
    """Each part of a model's theory is a "module:function" that imports (or None: not reached)."""
    import importlib

    for part in model.theory:
        if part is None:
            continue
        module, _, name = part.where.partition(":")
        assert callable(getattr(importlib.import_module(module), name)), part


def test_every_option_group_is_taken_by_some_model_and_known():
    groups = {f.metadata["group"] for f in fields(TrainConfig)} - {None}
    assert groups <= set(models.OPTION_GROUPS)
    for group in models.OPTION_GROUPS:
        assert models.taking(group), group


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_a_setting_of_a_group_the_model_does_not_take_is_refused(model):
    for f in fields(TrainConfig):
        group = f.metadata["group"]
        why = inapplicable(f.name, model.name, "train", {})
        if group is None or group in model.options:
            assert takes(model.name, f.name)
        else:
            assert not takes(model.name, f.name)
            assert why == f"it applies to {takers(group)} only"
            assert all(name in why for name in models.taking(group))


def test_unknown_model_is_one_line():
    with pytest.raises(FldmError, match="unknown model 'nope'; choose one of"):
        models.get("nope")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_feature_alignment_reads_the_summary(model):
    """The summary's per-feature signal of a random state is the mean over the two classes of
    feature_alignment with magnitude (classifier, |.| always) or signed (denoiser)."""
    rng = np.random.default_rng(0)
    m, n = 3, 6
    shape = model.weight_shape(m, 7)[:-1]  # (m,) or (2, m)
    signal = rng.standard_normal((*shape, 4))
    noise = rng.standard_normal((*shape, n))
    y = np.array([1, -1] * (n // 2))
    summary = model.summary(signal, noise, y)
    for k in range(2):
        per = np.mean([model.feature_alignment(signal, 2 * k + j) for j in (0, 1)])
        assert summary.per_feature[k] == pytest.approx(per, rel=1e-15)
    sig, noi = model.class_alignments(signal[None], noise[None])
    assert sig.shape == (1, m, 4) and noi.shape == (1, m, n)


def test_the_models_that_take_a_group_in_words(monkeypatch):
    monkeypatch.setattr(models, "taking", lambda group: ("diffusion",))
    assert takers("objective") == "the diffusion model"
    monkeypatch.setattr(models, "taking", lambda group: ("diffusion", "untied", "fixed-output"))
    assert takers("objective") == "the diffusion, untied and fixed-output models"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_layers_round_trip_and_filters_read_the_patches(model):
    """result.npz's weights (`layers`) give W back (`joined`); the filters are rows of W: all of
    them for the tied denoiser and the classifier, the first layer's m for the untied models."""
    m, d = 3, 7
    W = np.random.default_rng(1).standard_normal(model.weight_shape(m, d))
    layers = model.layers(W)
    assert "W" in layers and np.array_equal(model.joined(layers), W)
    F = model.filters(W)
    assert F.ndim == 2 and F.shape[1] == d
    rows = W.reshape(-1, d)
    assert all(any(np.array_equal(f, w) for w in rows) for f in F)
    with_output = "V" in layers  # a model with an output layer of its own reads with W only
    assert F.shape[0] == (m if with_output else rows.shape[0])
    if with_output:
        assert np.array_equal(F, layers["W"]) and set(layers) == {"W", "V"}


def test_sigma0_sets_both_untied_layers_and_the_first_is_the_tied_model_s():
    """W and V ~ N(0, sigma0^2) independently; for one seed the untied models' first layer is the
    tied model's W0 (the same stream), so runs of the three denoisers start paired."""
    from sims.train import prepare

    cfg = TrainConfig(n=6, d=400, m=3, sigma0=0.03, eta=0.01)
    tied = prepare(cfg).W0
    for name in ("untied", "fixed-output"):
        WV = prepare(cfg.replace(model=name)).W0
        assert WV.shape == (2, 3, 400)
        assert np.array_equal(WV[0], tied)
        for layer in WV:
            assert np.std(layer) == pytest.approx(0.03, rel=0.05)
        assert abs(np.corrcoef(WV[0].ravel(), WV[1].ravel())[0, 1]) < 0.05
