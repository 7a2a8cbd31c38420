# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Growth, stationary points and the D2 question
#
# The paper says two things about the diffusion model (its Theorem 3.1, our claims D1 and D2):
#
# * **D1, early phase**: signal and noise learning grow about linearly, at rates whose ratio is
#   $\Theta(n\,\mathrm{SNR}^2)$;
# * **D2, the end**: gradient descent reaches a stationary point where both are learned, with a
#   ratio of signal to noise learning that is again $\Theta(n\,\mathrm{SNR}^2)$.
#
# This notebook measures the early rates against `theory.predict`, then asks where the stationary
# ratio goes as $n\,\mathrm{SNR}^2$ grows, at two noise scales $\sigma_\xi$. Everything is computed
# here at $n = 20$, $d = 2000$, $m = 4$.

# %%
import matplotlib.pyplot as plt
import numpy as np

from sims.config import TrainConfig
from sims.models import summarize
from sims.train import prepare, train
from theory.predict import predict

BASE = TrainConfig(model="diffusion", n=20, d=2000, m=4)


def curves(result):
    """The headline signal and noise alignments at every logged step."""
    rows = [
        summarize("diffusion", s, z, result.data.y) for s, z in zip(result.signal, result.noise)
    ]
    return np.array([r.signal for r in rows]), np.array([r.noise for r in rows])


# %% [markdown]
# ## 1. Early growth (D1)
#
# From a small initialisation ($\sigma_0 = 0.001$) the $-4c\alpha\beta \sum_r a_r G_{rr}$ term of
# the loss dominates the gradient, and for a patch direction $z$ seen $n_z$ times
#
# $$\frac{d\langle w_r, z\rangle}{d\tau} \approx \frac{k_1}{2n}\, G_{rr}\, n_z \|z\|^2
# \quad\Longrightarrow\quad \frac{\text{signal rate}}{\text{noise rate}} \approx
# \frac{n_j\|\mu\|^2}{\|\xi_i\|^2} \approx \frac{n\,\mathrm{SNR}^2}{2}.$$
#
# The rate does not depend on the alignment itself, so the growth is linear. We run descent for 300
# steps, measure each feature's rise over the first 100 (inside the near-linear phase that
# `predict` also reports), and compare the ratio of the rises with the predicted ratio of the exact
# initial rates.

# %%
grid = [0.1, 0.3, 1.0, 3.0, 10.0]
measured, predicted, formula = [], [], []
for nsnr2 in grid:
    cfg = BASE.replace(nsnr2=nsnr2, sigma0=1e-3, steps=300, log_every=10)
    signal, noise = curves(train(cfg))
    k = 10  # step 100
    measured.append((signal[k] - signal[0]) / (noise[k] - noise[0]))
    p = predict(cfg)
    predicted.append(p.initial_rate_ratio)
    formula.append(p.rate_ratio_formula)
    print(
        f"n·SNR² = {nsnr2:5}: measured {measured[-1]:.4f}, predicted {p.initial_rate_ratio:.4f}, "
        f"n_j||mu||²/||xi||² = {p.rate_ratio_formula:.4f}, "
        f"near-linear for {min(p.linear_phase_steps):.0f} steps"
    )

fig, ax = plt.subplots(figsize=(5.5, 4))
ax.loglog(grid, predicted, "-", color="k", label="predicted (exact initial rates)")
ax.loglog(
    grid, measured, "o", mfc="none", color="tab:purple", label="gradient descent, steps 0-100"
)
ax.set_xlabel("n·SNR²")
ax.set_ylabel("signal rise / noise rise")
ax.set_title("D1: early growth ratio", fontsize=10)
ax.legend(fontsize=8)
plt.show()
slope = np.polyfit(np.log(grid), np.log(measured), 1)[0]
print(f"log-log slope of the measured ratio: {slope:.3f}")

# %% [markdown]
# The measured ratio follows the prediction, and its slope against $n\,\mathrm{SNR}^2$ is close
# to 1: D1 holds in this setting.
#
# ## 2. Stationary points (D2)
#
# Where does descent end? `theory.predict` follows the reduced gradient flow to its long-time
# state, refines it to $\nabla L = 0$ and reports the stationary point (its ratio, Morse index and
# branch). First, a check that descent really ends there: three runs long enough to reach it.

# %%
for nsnr2 in (0.1, 1.0, 10.0):
    cfg = BASE.replace(nsnr2=nsnr2)
    stationary = predict(cfg).stationary
    steps = int(1.5 * stationary.steps)
    run = train(cfg.replace(steps=steps, log_every=max(1, steps // 100)))
    print(
        f"n·SNR² = {nsnr2:5}: predicted ratio {stationary.ratio:.6f} "
        f"({stationary.branch} branch, Morse index {stationary.morse_index}); "
        f"descent after {steps} steps: {run.summary()['ratio']:.6f}"
    )

# %% [markdown]
# Descent lands on the predicted point to many digits, so the stationary ratio can be read from
# `predict` over a whole sweep at little cost. We sweep $n\,\mathrm{SNR}^2$ over three decades at
# two noise scales: $\sigma_\xi = 1$ (the default of every study) and $\sigma_\xi = 0.02$.
#
# The stationary point is a property of the flow, not of $\eta$: `predict` follows the flow to it
# and says separately whether descent at the run's $\eta$ would get there
# (`descent_leaves_at_step`); the automatic $\eta$ has a limit at the stationary point's curvature,
# so it does.

# %%
sweep = np.geomspace(0.05, 50, 9)
ratios = {}
for sigma_xi in (1.0, 0.02):
    row = []
    for nsnr2 in sweep:
        cfg = BASE.replace(nsnr2=float(nsnr2), sigma_xi=sigma_xi)
        stationary = predict(cfg).stationary
        if not stationary.found:
            print(f"σ_ξ = {sigma_xi}, n·SNR² = {nsnr2:.3g}: {stationary.reason}")
            eta = prepare(cfg).eta / 2
            stationary = predict(cfg.replace(eta=eta)).stationary
            print(f"    with eta = {eta:.4g}: found {stationary.found}")
        row.append(stationary.ratio if stationary.found else np.nan)
    ratios[sigma_xi] = np.array(row)

for sigma_xi, row in ratios.items():
    local = np.diff(np.log(row)) / np.diff(np.log(sweep))
    print(f"σ_ξ = {sigma_xi}: ratios {np.round(row, 4)}")
    print(f"          local slopes {np.round(local, 2)}")

# %%
fig, ax = plt.subplots(figsize=(6, 4.2))
for sigma_xi, color in ((1.0, "tab:purple"), (0.02, "tab:green")):
    ax.loglog(sweep, ratios[sigma_xi], "-o", ms=4, color=color, label=f"σ_ξ = {sigma_xi}")
ax.loglog(sweep, sweep / sweep[0] * ratios[0.02][0], ":", color="0.5", label="slope 1")
ax.set_xlabel("n·SNR²")
ax.set_ylabel("stationary signal / noise")
ax.set_title("D2: the stationary ratio (theory.predict)", fontsize=10)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The two noise scales tell different stories. At $\sigma_\xi = 1$ the stationary ratio stays near
# 1 and moves only weakly with $n\,\mathrm{SNR}^2$ (local slopes well below 1), so the paper's
# $\Theta(n\,\mathrm{SNR}^2)$ is not what this setting shows. At $\sigma_\xi = 0.02$ the ratio
# grows nearly in proportion to $n\,\mathrm{SNR}^2$ (local slopes near 1) until it bends at the
# largest values. D2's verdict depends on
# where the setting sits, not on $n\,\mathrm{SNR}^2$ alone: the report states it with its domain.
#
# On the symmetric branch, where the neurons share their data-span part, every patch alignment of
# a neuron solves one scalar equation, $\psi_w(a) = \frac{w}{2n}\,\varphi(a) + \nu a$, whose
# root grows with the patch's weight $w$ while $w/2n$ is small and saturates when it is large
# (`theory.stationary`). Lowering $\sigma_\xi$ makes the weights small.

# %% [markdown]
# ## 3. The law behind the curves
#
# On the symmetric branch the exact loss reduces to four numbers (`sims.symmetric`), and the
# stationary ratio depends on two groups only (and $m$), the patches' weights relative to $n$ in
# units of the diffusion time's own SNR $(\alpha/\beta)^2$ (`theory.law`):
#
# $$G_s = \Big(\frac{\alpha}{\beta}\Big)^2 \frac{n_j \|\mu\|^2}{n}, \qquad
#   G_n = \Big(\frac{\alpha}{\beta}\Big)^2 \frac{\|\xi\|^2}{n}, \qquad
#   \frac{G_s}{G_n} \approx \frac{n\,\mathrm{SNR}^2}{2}.$$
#
# Where both are small the ratio is $G_s/G_n$ ($\Theta(n\,\mathrm{SNR}^2)$, the paper's D2); where
# they are large it tends to 1; to first order its local slope is $1/(1 + G_s/\gamma_m)$. Below:
# the law's ratio at each setting's groups (lines) over the flow's (markers), and where each sweep
# sits.

# %%
from sims import symmetric  # noqa: E402
from theory import law  # noqa: E402

fig, ax = plt.subplots(figsize=(6, 4.2))
for sigma_xi, color in ((1.0, "tab:purple"), (0.02, "tab:green")):
    groups = [
        law.setting_groups(c, prepare(c).data)
        for c in (BASE.replace(nsnr2=float(v), sigma_xi=sigma_xi) for v in sweep)
    ]
    predicted = [symmetric.stationary(G_s, G_n, BASE.m).ratio for G_s, G_n in groups]
    ax.loglog(sweep, predicted, "-", color=color, label=f"σ_ξ = {sigma_xi}: the law")
    ax.loglog(
        sweep, ratios[sigma_xi], "o", mfc="none", color=color, label=f"σ_ξ = {sigma_xi}: flow"
    )
    G_n = groups[0][1]
    print(
        f"σ_ξ = {sigma_xi}: G_n = {G_n:.3g}, G_s from {groups[0][0]:.3g} to {groups[-1][0]:.3g}; "
        f"largest gap law/flow {np.nanmax(np.abs(np.array(predicted) / ratios[sigma_xi] - 1)):.2%}"
    )
ax.set_xlabel("n·SNR²")
ax.set_ylabel("stationary signal / noise")
ax.set_title("The law (lines) against the flow (markers)", fontsize=10)
ax.legend(fontsize=8)
plt.show()
print(
    f"crossover constant gamma_{BASE.m} = {law.crossover_constant(BASE.m):.4f}; first-order "
    f"boundary G_s = {law.linear_boundary(BASE.m):.3f}"
)

# %% [markdown]
# The law follows the flow to within the departures of these data from its premises (projected
# noise patches are orthogonal only to a few percent and of slightly unequal norms; the report's
# domain map uses exactly orthogonal patches, where the two agree to 1e-9). At $\sigma_\xi = 1$ the
# whole sweep has $G_s \gg \gamma_m$: the saturated side. At $\sigma_\xi = 0.02$ most of it has
# $G_s$ below the boundary: the linear side. `fldm predict diffusion --sigma-xi S --nsnr2 V` prints
# a setting's groups and regime in one line.

# %% [markdown]
# Next: [the classifier's phase transition](03_phase_transition.md).
