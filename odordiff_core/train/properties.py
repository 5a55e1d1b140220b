"""Fitting of the substantivity model: GoodScents hours on blotter joined to structures, ridge on log(hours).

`odordiff train properties` calls `train_properties`, which writes what `properties.load_property_models`
loads; `odordiff evaluate properties` reuses the table and the fit for its cross-validated figures.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
from safetensors.numpy import save_file
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from ..chem import Mol, connectivity_key, to_mol
from ..config import Settings
from ..datasets import GS_MOLECULES_FILE, GS_ODOR_FILE, goodscents_cids, read_rows
from ..properties import FEATURES_VERSION, MODEL_DIR, PropertyModels, substantivity_features


def load_substantivity_table(settings: Settings) -> tuple[list[Mol], np.ndarray, list[str]]:
    """Returns (mols, hours, names): GoodScents substantivity joined to structures, one row per connectivity key.

    Join: data_rw_odor TGSC ID -> CID (data_rw_opl, else stimuli) -> SMILES (goodscents/molecules). Rows sharing
    a connectivity key (duplicate TGSC entries, stereoisomers) are merged to their median hours.
    """
    cid = goodscents_cids(settings, page_records_first=True)  # opl first: it is the page's own record
    smiles = {r["CID"]: (r["IsomericSMILES"], r["name"]) for r in read_rows(GS_MOLECULES_FILE, settings)}
    grouped: dict[str, tuple[Mol, str, list[float]]] = {}
    for r in read_rows(GS_ODOR_FILE, settings):
        hours, c = r["Substantivity (Hours)"], cid.get(r["TGSC ID"])
        if not hours or c not in smiles:
            continue
        mol = to_mol(smiles[c][0])
        if mol is None:
            continue
        key = connectivity_key(mol)
        grouped.setdefault(key, (mol, smiles[c][1], []))[2].append(float(hours))
    mols = [m for m, _, _ in grouped.values()]
    return mols, np.array([np.median(h) for _, _, h in grouped.values()]), [n for _, n, _ in grouped.values()]


def fit_substantivity(mols: list[Mol], hours: np.ndarray, *, seed: int = 0, n_models: int = 16,
                      alpha: float = 1.0, folds: int = 5) -> tuple[PropertyModels, dict]:
    """Returns the fitted ensemble and its cross-validated figures (log-hours ridge regression).

    Figures: MAE in hours and in log(hours) for the model and for predicting the training median, Spearman rho,
    on `folds`-fold CV over unique structures. Molecules without a boiling point (no Joback group) are dropped.
    """
    feats = [substantivity_features(m) for m in mols]
    keep = [i for i, f in enumerate(feats) if f is not None]
    X = np.stack([f for f in feats if f is not None])  # (N, F), the rows of `keep`
    y = np.log(hours[keep])  # (N,)
    rng = np.random.default_rng(seed)
    pred, base = np.empty_like(y), np.empty_like(y)
    for tr, te in KFold(folds, shuffle=True, random_state=seed).split(X):
        mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-9
        pred[te] = Ridge(alpha=alpha).fit((X[tr] - mu) / sd, y[tr]).predict((X[te] - mu) / sd)
        base[te] = np.median(y[tr])
    cap = float(hours.max())
    ph, bh, yh = np.minimum(np.exp(pred), cap), np.exp(base), np.exp(y)
    figures = {
        "n": int(len(y)), "n_dropped_no_bp": int(len(mols) - len(keep)), "folds": folds,
        "mae_hours": float(np.abs(ph - yh).mean()), "mae_hours_median_baseline": float(np.abs(bh - yh).mean()),
        "mae_log": float(np.abs(pred - y).mean()), "mae_log_median_baseline": float(np.abs(base - y).mean()),
        "spearman": float(spearmanr(pred, y).statistic), "median_hours": float(np.median(yh)),
    }
    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = (X - mu) / sd
    coefs, icepts = [], []
    for _ in range(n_models):
        idx = rng.integers(0, len(y), len(y))  # bootstrap resample
        r = Ridge(alpha=alpha).fit(Z[idx], y[idx])
        coefs.append(r.coef_)
        icepts.append(r.intercept_)
    models = PropertyModels(coef=np.array(coefs), intercept=np.array(icepts), mean=mu, scale=sd,
                            residual_sigma=float(np.std(pred - y)), max_hours=cap, bp_error_c=None,
                            version="substantivity-1.0")
    return models, figures


def train_properties(settings: Settings, seed: int = 0) -> dict[str, Any]:
    """Fits the substantivity ensemble, writes it to <weights>/properties and returns the config.json it wrote.

    The config carries the cross-validated figures and the boiling-point error on the literature table,
    which the runtime shows as the estimate's uncertainty.
    """
    from ..eval.properties import bp_errors

    mols, hours, _ = load_substantivity_table(settings)
    models, figures = fit_substantivity(mols, hours, seed=seed)
    folder = settings.weights_dir / MODEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    save_file({"coef": models.coef, "intercept": models.intercept, "mean": models.mean, "scale": models.scale},
              str(folder / "substantivity.safetensors"))
    bp = bp_errors()
    config = {"version": models.version, "features_version": FEATURES_VERSION, "n_features": int(models.mean.shape[0]),
              "residual_sigma": models.residual_sigma, "max_hours": models.max_hours, "bp_mae_c": round(bp["mae_c"], 1),
              "seed": seed, "cv": figures, "boiling_point_validation": bp,
              "data": "GoodScents data_rw_odor.csv Substantivity (Hours) via data_rw_opl/stimuli CID -> molecules.csv"}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return config
