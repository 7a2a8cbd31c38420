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
# # The data and the two models
#
# This notebook builds the two-patch data of the paper's Definition 2.1, trains the same small
# network on it twice — as a **diffusion model** and as a **classifier** — and draws what each one
# learns: the signal patch, the noise patch, or both. It is the paper's Figure 2 at a small size
# (d = 500, a few hundred steps); every number below is computed here.
#
# Run it from the repository's root after `python -m pip install -e ".[docs]"`, or read it as it was
# executed when this site was built.

# %%
import matplotlib.pyplot as plt
import numpy as np

from sims.config import TrainConfig
from sims.data import make_data
from sims.train import train
from theory.ode import run_ode

# %% [markdown]
# ## 1. The data
#
# Each sample has a label $y \in \{+1, -1\}$ and two patches: the **signal patch**
# $x^{(1)} = \mu_y$ (one of two orthogonal vectors of the same norm $\|\mu\|$) and the **noise
# patch** $x^{(2)} = \xi \sim \mathcal{N}(0, \sigma_\xi^2 (I - P))$, Gaussian and orthogonal to both
# signals. The one number that decides what is learned is
#
# $$n \cdot \mathrm{SNR}^2, \qquad \mathrm{SNR} = \frac{\|\mu\|}{\sigma_\xi \sqrt{d}}, \qquad
# n\,\mathrm{SNR}^2 \approx \frac{n \|\mu\|^2}{\|\xi\|^2}.$$
#
# `sims.data.make_data` draws a training set from a seeded `numpy.random.Generator`:

# %%
n, d = 20, 500
data = make_data(n, d, nsnr2=0.75, rng=np.random.default_rng(0))

print("x1 (signal patches):", data.x1.shape, "  x2 (noise patches):", data.x2.shape)
print("labels:", data.y)
print("||mu||          =", np.linalg.norm(data.mu, axis=1))
print(
    "mean ||xi||     =", np.linalg.norm(data.x2, axis=1).mean().round(3), " (sqrt(d) =", d**0.5, ")"
)
print("n SNR^2         =", round(data.nsnr2, 4))
print("max |<xi_i, mu_j>| =", np.abs(data.x2 @ data.mu.T).max(), "(orthogonal to the signals)")

# %% [markdown]
# The signal patch of sample $i$ is just $\mu_{y_i}$, so the $n$ signal patches hold only two
# directions, each repeated about $n/2$ times, while every noise patch points its own way. That is
# why the signal's weight in the loss is $n_j \|\mu\|^2$ against $\|\xi_i\|^2$ for one noise patch:

# %%
counts = {label: int(np.sum(data.y == label)) for label in (+1, -1)}
mu2 = float(np.sum(data.mu[0] ** 2))
xi2 = float(np.mean(np.sum(data.x2**2, axis=1)))
print("samples per class n_j:", counts)
print("n_j ||mu||^2 / ||xi||^2 per class:", {k: round(v * mu2 / xi2, 3) for k, v in counts.items()})

# %% [markdown]
# ## 2. Two models, one network
#
# Both models use $m$ filters $w_1, \dots, w_m \in \mathbb{R}^d$ and a quadratic activation.
#
# * **Diffusion** (a tied autoencoder, shared by the two patches) learns to predict the noise
#   $\epsilon$ from $x_t = \alpha x_0 + \beta \epsilon$:
#   $f(W, u) = \frac{1}{m} \sum_r \langle w_r, u \rangle^2 w_r$, with the loss
#   $\frac{1}{2n} \sum_i \sum_p
#   \mathbb{E}_\epsilon \|f(W, \alpha x_i^{(p)} + \beta \epsilon) - \epsilon\|^2$
#   and the expectation over $\epsilon$ taken exactly (`sims.diffusion`).
# * **Classification** uses two groups of filters with a fixed $\pm 1$ second layer,
#   $F_j = \frac{1}{m} \sum_r \sum_p \langle w_{j,r}, x^{(p)} \rangle^2$, and the logistic loss of
#   $f = F_{+1} - F_{-1}$ (`sims.classification`).
#
# One `TrainConfig` describes a run of either model; `train` runs full-batch gradient descent
# from $w_r \sim \mathcal{N}(0, \sigma_0^2 I)$ with an automatic step size $\eta$, and logs the
# alignments $\langle w_r, \mu_j \rangle$ and $\langle w_r, \xi_i \rangle$ at every logged step.

# %%
cfg = TrainConfig(model="diffusion", n=n, d=d, m=4, nsnr2=0.75, steps=600, log_every=10)
result = train(cfg)

print("W:", result.W.shape, "  logged steps:", len(result.steps), "  eta =", result.extra["eta"])
print("signal alignments <w_r, mu_j> at the end (m x 2):")
print(result.signal[-1].round(3))
print(
    "summary:",
    {k: round(v, 4) for k, v in result.summary().items() if k in ("signal", "noise", "ratio")},
)

# %% [markdown]
# The summary is the paper's:
# $\text{signal} = \operatorname{mean}_j \max_r \langle w_r, \mu_j \rangle$ and
# $\text{noise} = \operatorname{mean}_i \max_r \langle w_r, \xi_i \rangle$ (for classification with
# $|\cdot|$ and each class's own filters), computed at every logged step by
# `sims.models.summarize`.
#
# ## 3. Both models at a low and a high $n \cdot \mathrm{SNR}^2$
#
# Four runs — two models, $n\,\mathrm{SNR}^2 = 0.75$ and $6.75$ as in the paper's Figure 2 — and,
# as lines, the reduced alignment ODE of each (`theory.ode.run_ode`: the gradient flow that descent
# follows in the time $\tau = \eta \cdot \text{step}$, computed in a space whose size does not
# depend on $d$).


# %%
def summary_curves(result):
    """The headline signal and noise alignments at every logged step."""
    from sims.models import summarize

    rows = [
        summarize(result.config.model, s, z, result.data.y)
        for s, z in zip(result.signal, result.noise)
    ]
    return np.array([r.signal for r in rows]), np.array([r.noise for r in rows])


runs = {}
for model in ("diffusion", "classification"):
    for nsnr2 in (0.75, 6.75):
        cfg = TrainConfig(model=model, n=n, d=d, m=4, nsnr2=nsnr2, steps=600, log_every=10)
        runs[model, nsnr2] = (train(cfg), run_ode(cfg))

fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex="col")
for i, model in enumerate(("diffusion", "classification")):
    for j, nsnr2 in enumerate((0.75, 6.75)):
        ax = axes[i, j]
        descent, ode = runs[model, nsnr2]
        for result, style in (
            (descent, dict(ls="", marker="o", ms=3, mfc="none")),
            (ode, dict(ls="-")),
        ):
            signal, noise = summary_curves(result)
            tau = result.extra["eta"] * result.steps
            ax.plot(tau, signal, color="tab:red", **style)
            ax.plot(tau, noise, color="tab:blue", **style)
        ax.set_title(f"{model}, n·SNR² = {nsnr2}", fontsize=10)
        axes[1, j].set_xlabel("τ = η · step")
axes[0, 0].set_ylabel("alignment")
axes[1, 0].set_ylabel("alignment")
axes[0, 0].plot([], [], color="tab:red", label="signal")
axes[0, 0].plot([], [], color="tab:blue", label="noise")
axes[0, 0].plot([], [], color="k", ls="", marker="o", mfc="none", label="gradient descent")
axes[0, 0].plot([], [], color="k", label="reduced ODE")
axes[0, 0].legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# What to read in the figure:
#
# * **Diffusion** (top) learns both features at both settings: both alignments grow, the signal's
#   faster where $n\,\mathrm{SNR}^2$ is larger, and both settle at a stationary point where neither
#   is zero. (How fast each grows at first, and where they settle, is the next notebook's subject.)
# * **Classification** (bottom) picks one: at $n\,\mathrm{SNR}^2 = 0.75$ it memorises the noise and
#   leaves the signal near its initial size; at $6.75$ it learns the signal, and the noise alignment
#   stays far below it. The winner's alignment shoots up at the very start.
# * Markers (descent) sit on the lines (ODE): the reduced dynamics is what gradient descent does.
#
# The final numbers of each run:

# %%
for (model, nsnr2), (descent, _) in runs.items():
    s = descent.summary()
    extra = f", test error {s['test_error']:.3f}" if "test_error" in s else ""
    print(
        f"{model:>14} n·SNR² = {nsnr2:4}: signal {s['signal']:.3f}, noise {s['noise']:.3f}, "
        f"ratio {s['ratio']:.3f}{extra}"
    )

# %% [markdown]
# The same runs from the command line: `fldm train diffusion --nsnr2 0.75 --d 500 --steps 600`,
# `fldm ode ...` for the ODE, and `fldm plot RUN_DIR...` to draw them (both models side by side).
# Next: [growth, stationary points and D2](02_growth_and_stationary.md).
