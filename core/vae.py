"""A small VAE on the 8×8 digits, trained with different gradient estimators for the encoder.

Encoder x ↦ (μ(x), log σ²(x)); the sampling layer is the Keras VAE example's ``Sampling`` layer
written in PyTorch, z = μ + exp(½ log σ²) ε; decoder z ↦ Bernoulli logits of the 64
pixels (binarized at half ink). The ELBO with L samples and analytic KL (the Keras VAE example):

    ELBO(x) ≈ (1/L) Σ_l log p(x | z_l) − KL(q(z|x) ‖ N(0, I)),
    KL = ½ Σ_d (σ_d² + μ_d² − 1 − log σ_d²).

The decoder is always trained by the ordinary gradient of log p(x|z). The encoder's
gradient of the expected log-likelihood is estimated by

``pathwise``   backprop through z = μ + σε (the reparameterization trick);
``score``      (log p(x|z) − b) ∇ log q(z|x) with z detached, b = 0 (REINFORCE);
``score_loo``  the same with b = the mean log p(x|z) of the other L − 1 samples (L ≥ 2).

The KL term is differentiated in closed form in every case.

With the IWAE bound (Burda et al. 2016) at K samples, log (1/K) Σ_k w_k with log w_k =
log p(x|z_k) + log N(z_k; 0, I) − log q(z_k|x), the decoder always gets the bound's own
gradient and the encoder gets

``iwae``       the pathwise gradient of the bound (its score term through q's parameters included);
``iwae_dreg``  DReG (Tucker et al. 2018): Σ_k w̃_k² ∂log w_k/∂z_k ∂z_k/∂φ, with q's parameters
               detached in log w (w̃ = softmax(log w)); see core/iwae.py for the Gaussian case.

At K = 1 the IWAE bound is the ELBO with a one-sample KL.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["VAE_ESTIMATORS", "load_digits", "VAE", "sampling_layer", "gaussian_kl", "elbo_terms", "train_vae",
           "TrainResult", "encoder_gradient_stats", "IWAE_ESTIMATORS", "iwae_log_weights", "iwae_step_grads", "image_grid", "decode_mean", "encode_mean"]

DATA = Path(__file__).resolve().parent / "data" / "digits8x8.npz"
VAE_ESTIMATORS = {
    "pathwise": "reparameterization (pathwise)",
    "score": "score function (REINFORCE)",
    "score_loo": "score function, leave-one-out baseline",
}
IWAE_ESTIMATORS = {
    "iwae": "IWAE bound, pathwise encoder gradient",
    "iwae_dreg": "IWAE bound, DReG encoder gradient",
}


def load_digits(binary: bool = True) -> tuple[torch.Tensor, np.ndarray]:
    """The 1,797 8×8 digits shipped with the app: images (1797, 64), labels (1797,).

    With ``binary`` (the default, what the VAE models) a pixel is 1 when its ink count is at
    least 8 of 16, so the Bernoulli decoder is a proper likelihood and the ELBO a true bound
    in nats; otherwise intensities are scaled to [0, 1].
    """
    with np.load(DATA) as d:
        raw = d["images"].astype(np.float32)
        labels = d["labels"].astype(np.int64)
    images = (raw >= 8).astype(np.float32) if binary else raw / 16.0
    return torch.from_numpy(images), labels


def sampling_layer(z_mean: torch.Tensor, z_log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The Keras VAE example's ``Sampling`` layer: z = z_mean + exp(0.5 · z_log_var) · ε."""
    return z_mean + torch.exp(0.5 * z_log_var) * eps


def gaussian_kl(z_mean: torch.Tensor, z_log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) summed over latent dimensions: ½ Σ (σ² + μ² − 1 − log σ²)."""
    return 0.5 * (torch.exp(z_log_var) + z_mean ** 2 - 1.0 - z_log_var).sum(-1)


class VAE(nn.Module):
    def __init__(self, latent: int = 2, hidden: int = 128):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, 64))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h[..., : self.latent], h[..., self.latent:].clamp(-10.0, 10.0)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z): independent Bernoulli pixels with logits decoder(z)."""
        logits = self.decoder(z)
        return -nn.functional.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)


def elbo_terms(model: VAE, x: torch.Tensor, eps: torch.Tensor, estimator: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(surrogate to maximise, ELBO estimate) for a batch x (B, 64) and noise eps (L, B, d)."""
    mu, log_var = model.encode(x)
    kl = gaussian_kl(mu, log_var)
    z = sampling_layer(mu, log_var, eps)  # (L, B, d)
    if estimator == "pathwise":
        loglik = model.log_likelihood(x, z)  # gradient flows to the encoder through z
        surrogate = loglik.mean(0) - kl
        return surrogate.mean(), (loglik.mean(0) - kl).detach().mean()
    zd = z.detach()
    loglik = model.log_likelihood(x, zd)  # decoder gradient only
    log_q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).log_prob(zd).sum(-1)  # (L, B)
    reward = loglik.detach()
    if estimator == "score_loo":
        L = reward.shape[0]
        if L < 2:
            raise ValueError("score_loo needs L ≥ 2.")
        reward = reward - (reward.sum(0, keepdim=True) - reward) / (L - 1)
    elif estimator != "score":
        raise ValueError(f"Unknown estimator {estimator!r}.")
    surrogate = (loglik + reward * log_q).mean(0) - kl
    return surrogate.mean(), (loglik.mean(0) - kl).detach().mean()


def iwae_log_weights(model: VAE, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor,
                     detach_q: bool = False, decoder=None) -> torch.Tensor:
    """log w = log p(x|z) + log N(z; 0, I) − log q(z|x) for z = μ + σε, eps (K, B, d); (K, B).
    With ``detach_q`` log q's μ and log σ² are detached (z keeps its path): STL's and DReG's log w."""
    z = sampling_layer(mu, log_var, eps)
    mq, lq = (mu.detach(), log_var.detach()) if detach_q else (mu, log_var)
    log_q = (-0.5 * (z - mq) ** 2 / torch.exp(lq) - 0.5 * lq).sum(-1)
    log_prior = (-0.5 * z ** 2).sum(-1)
    if decoder is None:
        log_lik = model.log_likelihood(x, z)
    else:
        log_lik = decoder(z)
    return log_lik + log_prior - log_q  # the −½ log 2π terms of prior and q cancel


def iwae_bound(log_w: torch.Tensor) -> torch.Tensor:
    """log (1/K) Σ_k w_k per image, from log w (K, B)."""
    return torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])


def iwae_step_grads(model: VAE, x: torch.Tensor, eps: torch.Tensor, estimator: str) -> float:
    """Set ``.grad`` of every parameter to minus the gradient of the IWAE bound (mean over the batch),
    the encoder's from ``estimator``; returns the bound's value."""
    mu, log_var = model.encode(x)
    if estimator == "iwae":
        bound = iwae_bound(iwae_log_weights(model, x, mu, log_var, eps)).mean()
        model.zero_grad()
        (-bound).backward()
        return float(bound.detach())
    if estimator != "iwae_dreg":
        raise ValueError(f"Unknown estimator {estimator!r}.")
    log_w = iwae_log_weights(model, x, mu, log_var, eps, detach_q=True)
    w = torch.softmax(log_w.detach(), 0)
    enc = list(model.encoder.parameters())
    dec = list(model.decoder.parameters())
    g_enc = torch.autograd.grad((w ** 2 * log_w).sum(0).mean(), enc, retain_graph=True)
    # The decoder's gradient is the bound's own: Σ w̃ ∇ log p(x|z), with z held fixed.
    log_w_dec = iwae_log_weights(model, x, mu.detach(), log_var.detach(), eps)
    bound = iwae_bound(log_w_dec).mean()
    g_dec = torch.autograd.grad(bound, dec)
    for p, g in zip(enc + dec, (*g_enc, *g_dec)):
        p.grad = -g
    return float(bound.detach())


def encoder_gradient_stats(model: VAE, x: torch.Tensor, estimator: str, L: int, reps: int,
                           gen: torch.Generator) -> tuple[float, float]:
    """Total variance tr Var(g) and SNR ‖E g‖² / tr Var(g) of the encoder gradient g, from
    (for ``iwae`` and ``iwae_dreg``, L is the bound's K and g the encoder's gradient of the IWAE
    bound, pathwise or DReG; both have the same mean, the bound's gradient)
    ``reps`` independent noise draws on the batch x, with torch.func.vmap (no Python loop).

    Both are unbiased estimates: tr V̂ sums the per-coordinate sample variances (divisor
    reps − 1), and ‖E g‖² is estimated by ‖ḡ‖² − tr V̂ / reps, since the squared norm of a
    mean of reps draws exceeds ‖E g‖² by tr Var(g) / reps on average. (‖ḡ‖² alone made a
    score-function SNR read about 1/16 with 16 draws, whatever its true value.) The SNR is
    not clipped, so it can be negative when the truth is below what the draws resolve;
    clipping at 0 would bias it upwards again.
    """
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.encoder.named_parameters()}
    eps = torch.randn((reps, L, x.shape[0], model.latent), generator=gen)

    def objective(p, e):
        mu_lv = functional_call(model.encoder, p, (x,))
        mu, log_var = mu_lv[..., : model.latent], mu_lv[..., model.latent:].clamp(-10.0, 10.0)
        if estimator == "iwae":  # L is K here
            return iwae_bound(iwae_log_weights(model, x, mu, log_var, e)).mean()
        if estimator == "iwae_dreg":
            log_w = iwae_log_weights(model, x, mu, log_var, e, detach_q=True)
            return (torch.softmax(log_w.detach(), 0) ** 2 * log_w).sum(0).mean()
        kl = gaussian_kl(mu, log_var)
        z = sampling_layer(mu, log_var, e)
        if estimator == "pathwise":
            loglik = model.log_likelihood(x, z)
            return (loglik.mean(0) - kl).mean()
        zd = z.detach()
        reward = model.log_likelihood(x, zd).detach()
        if estimator == "score_loo":
            reward = reward - (reward.sum(0, keepdim=True) - reward) / (reward.shape[0] - 1)
        log_q = (-0.5 * (zd - mu) ** 2 / torch.exp(log_var) - 0.5 * log_var - 0.5 * math.log(2 * math.pi)).sum(-1)
        return ((reward * log_q).mean(0) - kl).mean()

    grads = vmap(grad(objective), in_dims=(None, 0), randomness="different")(params, eps)
    flat = torch.cat([g.reshape(reps, -1) for g in grads.values()], dim=1)
    flat = flat.detach()
    total_var = float(flat.double().var(0).sum())
    mean_sq = float((flat.double().mean(0) ** 2).sum()) - total_var / reps
    return total_var, mean_sq / total_var if total_var > 0 else math.inf


@dataclass
class TrainResult:
    estimator: str
    steps: np.ndarray
    seconds: np.ndarray
    elbo: np.ndarray  # ELBO on the evaluation set, nats per image (IWAE runs: the IWAE bound at their K)
    grad_steps: np.ndarray
    grad_variance: np.ndarray
    grad_snr: np.ndarray
    model: VAE = field(repr=False)
    stopped: bool = False


def train_vae(estimator: str, *, latent: int = 2, L: int = 1, steps: int = 600, batch: int = 128, lr: float = 3e-3,
              seed: int = 0, eval_every: int = 25, grad_every: int = 100, grad_reps: int = 16,
              progress: Callable[[int, int], bool] | None = None) -> TrainResult:
    """Train a VAE with Adam; the encoder's gradient comes from ``estimator``.

    ``progress(step, steps)`` is called every ``eval_every`` steps; returning False stops
    training early (the result so far is returned, marked ``stopped``).
    """
    if estimator not in VAE_ESTIMATORS and estimator not in IWAE_ESTIMATORS:
        raise ValueError(f"Unknown estimator {estimator!r}.")
    iwae = estimator in IWAE_ESTIMATORS  # then L is the bound's K, and the evaluation is the IWAE bound at K
    if estimator == "score_loo" and L < 2:
        raise ValueError("score_loo needs L ≥ 2.")
    images, _ = load_digits()
    torch.manual_seed(seed)
    model = VAE(latent)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed + 1)
    eval_x = images[:512]
    eval_eps = torch.randn((L if iwae else 4, eval_x.shape[0], latent), generator=torch.Generator().manual_seed(12345))
    grad_x = images[512:576]
    steps_log, seconds_log, elbo_log = [], [], []
    g_steps, g_var, g_snr = [], [], []
    start = time.perf_counter()
    stopped = False

    def evaluate(step: int) -> None:
        with torch.no_grad():
            mu, log_var = model.encode(eval_x)
            if iwae:
                elbo = iwae_bound(iwae_log_weights(model, eval_x, mu, log_var, eval_eps)).mean()
            else:
                z = sampling_layer(mu, log_var, eval_eps)
                elbo = (model.log_likelihood(eval_x, z).mean(0) - gaussian_kl(mu, log_var)).mean()
        steps_log.append(step)
        seconds_log.append(time.perf_counter() - start)
        elbo_log.append(float(elbo))

    evaluate(0)
    for step in range(1, steps + 1):
        idx = torch.randint(0, images.shape[0], (batch,), generator=gen)
        x = images[idx]
        eps = torch.randn((L, batch, latent), generator=gen)
        if iwae:
            iwae_step_grads(model, x, eps, estimator)
        else:
            surrogate, _ = elbo_terms(model, x, eps, estimator)
            opt.zero_grad()
            (-surrogate).backward()
        opt.step()
        if step % eval_every == 0 or step == steps:
            evaluate(step)
            if progress is not None and progress(step, steps) is False:
                stopped = True
        if step % grad_every == 0 or step == 1:
            v, snr = encoder_gradient_stats(model, grad_x, estimator, max(L, 2) if estimator == "score_loo" else L,
                                            grad_reps, gen)
            g_steps.append(step)
            g_var.append(v)
            g_snr.append(snr)
        if stopped:
            break
    model.eval()
    return TrainResult(estimator, np.array(steps_log), np.array(seconds_log), np.array(elbo_log), np.array(g_steps),
                       np.array(g_var), np.array(g_snr), model, stopped)


def image_grid(images: np.ndarray, cols: int, scale: int = 4, pad: int = 1) -> np.ndarray:
    """Tile (n, 64) images in [0, 1] into one grey-scale array, each pixel a scale×scale block."""
    images = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0).reshape(-1, 8, 8)
    n = images.shape[0]
    rows = math.ceil(n / cols)
    size = 8 * scale
    grid = np.ones((rows * (size + pad) + pad, cols * (size + pad) + pad), dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        block = np.kron(1.0 - img, np.ones((scale, scale), dtype=np.float32))  # ink dark on white
        grid[pad + r * (size + pad): pad + r * (size + pad) + size, pad + c * (size + pad): pad + c * (size + pad) + size] = block
    return grid


def decode_mean(model: VAE, z: torch.Tensor) -> np.ndarray:
    """Pixel probabilities σ(decoder(z))."""
    with torch.no_grad():
        return torch.sigmoid(model.decoder(z)).numpy()


def encode_mean(model: VAE, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.encode(x)[0].numpy()
