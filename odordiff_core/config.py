"""Settings read once from the environment. Core functions receive these objects; they never read os.environ."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
WEIGHTS_DIR = PACKAGE_DIR / "weights"  # shipped, committed model weights (safetensors + JSON)
PACKAGE_DATA_DIR = PACKAGE_DIR / "package_data"  # tables compiled for OdorDiff (no upstream copy)


def default_data_dir() -> Path:
    """Returns ../shared/data beside the repository when it exists, else a per-user cache folder."""
    shared = REPO_DIR.parent / "shared" / "data"
    if shared.is_dir():
        return shared
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "odordiff" / "data"


def default_work_dir() -> Path:
    """Returns the folder of users' saved work when ODORDIFF_WORK_DIR is unset: $XDG_DATA_HOME/odordiff, else
    ~/.local/share/odordiff (the XDG default). Created by the store on first use, not here."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "odordiff"


def default_feature_workers() -> int:
    """Returns the odor predictor's featurisation processes when ODORDIFF_FEATURE_WORKERS is unset: the CPU cores this
    process may use, at most 4 (RDKit featurisation is the predictor's main cost; beyond 4 the hand-over dominates for
    the generator's batches of about 64 molecules)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


@dataclass(frozen=True)
class GenerationDefaults:
    """Generation defaults and bounds: the one place the pipeline, CLI, app state and sliders read them from."""

    n: int = 16  # candidates per request (the app's and the CLI's default)
    max_n: int = 64  # most candidates one request may ask for
    seed: int = 0  # same brief + settings + seed => same molecules
    steps: int = 12  # sampler steps: the CPU latency budget (p50 <= 1.5 s goal); 12 vs 16 judged in docs/model_card_generator.md
    guidance: float = 1.5  # classifier-free guidance: 0 unconditional, 1 plain conditional, > 1 pushed to the brief (1.5 vs 2 judged in docs/model_card_generator.md)
    temperature: float = 1.0  # sampler temperature: divides the guided log-probs; < 1 = sharper: sounder raw samples but
    #   more repeats at exploration 0.3 (0.8: 0.939 sound, 0.860 unique; docs/model_card_generator.md, "Raw uniqueness")
    guidance_min: float = 0.0  # a request outside [guidance_min, guidance_max] is refused
    guidance_max: float = 10.0
    guidance_slider_max: float = 5.0  # the app's slider stops here: beyond it validity drops (model card)
    oversample: int = 4  # molecules sampled per candidate returned (k ~ 4, as in GenMol)
    refill_rounds: int = 2  # sampled strings that are invalid, repeated or already known are drawn again from the same
    #   start, at most this many rounds, so that the ranker gets up to oversample * n distinct novel molecules, as the
    #   mutation baseline's ranker does (its mutants are drawn until they are valid, distinct and novel). With it and
    #   exploration 0.3: adherence 0.913 vs 0.903 for reranked mutation at seed 0 (every bin won), 0.912 vs 0.909 at
    #   seed 1; docs/model_card_generator.md, "Refill rounds"
    diversity: float = 0.15  # rank stage: each next candidate maximises odor match - diversity x its highest Tanimoto
    #   (Morgan r2) to the candidates already chosen (maximal marginal relevance); 0 = plain odor-match order. 0.15:
    #   IntDiv 0.807 / 0.819 (seeds 0 / 1) instead of 0.790 / 0.803, adherence 0.905 / 0.900 instead of 0.913 / 0.912,
    #   still ahead of reranked mutation through the same screens and rank stage in every bin of both seeds
    #   (docs/model_card_generator.md, "Diversity in the rank stage")
    edit_strength: float = 0.5  # share of an edited molecule's tokens re-masked (0..1)
    exploration: float = 0.3  # how far from known materials, 0..1: the share of a retrieved known odorant's tokens
    #   re-masked and regenerated toward the brief; 1 = de novo (every token sampled). 0.3 (with refill_rounds 2) is the
    #   setting that wins the comparison with reranked mutation (issue 12 §2): adherence 0.913 vs 0.903 at seed 0,
    #   0.912 vs 0.909 at seed 1, where 0.5 gives 0.901 / 0.901 and 0.4 0.902 / 0.911; the price is diversity (IntDiv
    #   0.790 / 0.803) and raw uniqueness. 0.5 was the default before refill rounds (docs/model_card_generator.md)
    copies_per_known: int = 3  # exploration < 1: starts drawn from each of the copied_known known odorants that best
    #   match the brief; the odorants after them get one start each, until there are oversample x n
    copied_known: int | None = 8  # None = every retrieved odorant gets copies_per_known (shipped before as 4 copies, no
    #   floor: raw uniqueness 0.846 at seed 0, a quarter of the draws gave their start back)
    min_remasked: int = 7  # exploration < 1: a start re-masks at least this many of its odorant's own tokens (all of a
    #   shorter one), besides its exploration share; with fewer, a small odorant's draw often gives it back token for
    #   token. 3 copies of the 8 best + a floor of 7, seeds 0-3: raw uniqueness 0.964-0.978 (was 0.806-0.857), adherence
    #   0.902 mean (0.903 before), IntDiv 0.817-0.827 (0.807-0.821); raw sound 0.882-0.921 through the tautomer step
    #   (0.917-0.938) (docs/model_card_generator.md, "A floor on re-masked tokens")
    varied_copies: bool = True  # exploration < 1: a known odorant's copies are written in different atom orders
    #   (randomized SMILES, seeded by the request): the same number of tokens is re-masked, on other parts of the
    #   molecule, and copies give the same draw back less often. Seeds 0-3: raw uniqueness 0.971 / 0.983 / 0.985 /
    #   0.974 (0.964 / 0.978 / 0.977 / 0.966 with one writing), adherence 0.911 / 0.897 / 0.900 / 0.902 (0.906 / 0.896 /
    #   0.904 / 0.902); the price is raw soundness, 0.902 / 0.881 / 0.881 / 0.869 through the tautomer step (0.921 /
    #   0.900 / 0.909 / 0.882) (docs/model_card_generator.md, "Copies written in different atom orders")
    exploration_slider_min: float = 0.05  # the app's slider starts here: at 0 nothing changes, so every sample
    #   is a known odorant and none is returned


GENERATION = GenerationDefaults()


@dataclass(frozen=True)
class Settings:
    data_dir: Path  # where the public data sets live (checked against SHA256SUMS)
    weights_dir: Path = WEIGHTS_DIR  # trained models
    generator_dir: Path | None = None  # generator checkpoint folder; None = <weights_dir>/generator
    data_mirror: str | None = None  # base URL replacing the pinned upstream URLs (tests, mirrors)
    redis_url: str | None = field(default=None, repr=False)  # shared cache; None = in-process cache only (may hold a password: never shown)
    cache_ttl_s: int = 7 * 24 * 3600  # Redis entry lifetime (7 days)
    cache_secret: str | None = field(default=None, repr=False)  # HMAC key of cached values, the same on every replica; None = not shared across processes
    api_rate_limit: str = "120/minute"  # requests per API key (`limits` notation), shared by replicas through Redis
    metrics_port: int | None = None  # the Streamlit app serves Prometheus /metrics on this port (all interfaces); None = off
    database_url: str | None = field(default=None, repr=False)  # saved work in PostgreSQL (postgresql+psycopg://...); None = SQLite in work_dir (may hold a password: never shown)
    work_dir: Path = field(default_factory=default_work_dir)  # users' saved work: the SQLite file work.db
    feature_workers: int = field(default_factory=default_feature_workers)  # processes featurising molecules for the odor predictor (1 = this process only)

    @property
    def generator_path(self) -> Path:
        """Returns the generator checkpoint folder: generator_dir when set, else <weights_dir>/generator."""
        return self.generator_dir or self.weights_dir / "generator"

    @classmethod
    def from_env(cls) -> "Settings":
        """Returns the settings from ODORDIFF_* variables; raises InvalidInput naming a variable that cannot be read."""
        env = os.environ
        return cls(
            data_dir=Path(env["ODORDIFF_DATA_DIR"]) if env.get("ODORDIFF_DATA_DIR") else default_data_dir(),
            weights_dir=Path(env["ODORDIFF_WEIGHTS_DIR"]) if env.get("ODORDIFF_WEIGHTS_DIR") else WEIGHTS_DIR,
            generator_dir=Path(env["ODORDIFF_GENERATOR_DIR"]) if env.get("ODORDIFF_GENERATOR_DIR") else None,
            data_mirror=env.get("ODORDIFF_DATA_MIRROR") or None,
            redis_url=env.get("ODORDIFF_REDIS_URL") or None,
            cache_ttl_s=_positive_int(env, "ODORDIFF_CACHE_TTL_S", 7 * 24 * 3600),
            cache_secret=env.get("ODORDIFF_CACHE_SECRET") or None,
            api_rate_limit=env.get("ODORDIFF_API_RATE_LIMIT") or cls.api_rate_limit,
            metrics_port=_port(env, "ODORDIFF_METRICS_PORT"),
            database_url=env.get("ODORDIFF_DATABASE_URL") or None,
            work_dir=Path(env["ODORDIFF_WORK_DIR"]) if env.get("ODORDIFF_WORK_DIR") else default_work_dir(),
            feature_workers=_positive_int(env, "ODORDIFF_FEATURE_WORKERS", default_feature_workers(), "processes"),
        )


def _port(env: Mapping[str, str], name: str) -> int | None:
    """Returns env[name] as a TCP port 1..65535, None when unset or empty; raises InvalidInput naming the variable."""
    from .errors import InvalidInput

    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise InvalidInput(f"{name}={raw!r} is not a port number (1-65535); set it to e.g. 9101 or unset it.")
    return int(raw)


def _positive_int(env: Mapping[str, str], name: str, default: int, unit: str = "seconds") -> int:
    """Returns env[name] as an integer >= 1 (default when unset or empty); raises InvalidInput naming the variable."""
    from .errors import InvalidInput

    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInput(f"{name}={raw!r} is not a whole number of {unit} >= 1; set it to e.g. {default} "
                           f"(the default) or unset it.")
    return value
