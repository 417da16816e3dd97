"""Settings from the environment: every ``SEQSTUDIO_*`` variable is read and checked here.

A malformed value is refused with a one-line :class:`~seqcore.errors.SettingsError` that names the
variable, the value and what it accepts; nothing falls back silently to a default. The app checks all of
them when a page starts (:func:`check`) and the CLI before it runs a command, so a typo shows at once
instead of as odd behaviour later.

Only the standard library is imported here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from seqcore.errors import SettingsError

HOME = "SEQSTUDIO_HOME"
RUNNER = "SEQSTUDIO_RUNNER"
BACKEND = "SEQSTUDIO_BACKEND"
COMPILE_CACHE = "SEQSTUDIO_COMPILE_CACHE"
DATA_PARALLEL = "SEQSTUDIO_DATA_PARALLEL"
PREWARM = "SEQSTUDIO_PREWARM"
MAX_WORKERS = "SEQSTUDIO_MAX_WORKERS"
WORKER_NICE = "SEQSTUDIO_WORKER_NICE"
WORKER_IDLE_EXIT = "SEQSTUDIO_WORKER_IDLE_EXIT"
MAX_UPLOAD_MB = "SEQSTUDIO_MAX_UPLOAD_MB"
MAX_ROWS = "SEQSTUDIO_MAX_ROWS"
MAX_COLUMNS = "SEQSTUDIO_MAX_COLUMNS"
STAT_BUDGET = "SEQSTUDIO_STAT_BUDGET"
BASE_SEARCH = "SEQSTUDIO_BASE_SEARCH"
ENSEMBLE = "SEQSTUDIO_ENSEMBLE"
ARCH_SEARCH = "SEQSTUDIO_ARCH_SEARCH"
TENSORBOARD = "SEQSTUDIO_TENSORBOARD"
AUTH = "SEQSTUDIO_AUTH"
ADMINS = "SEQSTUDIO_ADMINS"
PROXY_HEADER = "SEQSTUDIO_PROXY_HEADER"
PROXY_ADDRESSES = "SEQSTUDIO_PROXY_ADDRESSES"
PROXY_SIGN_OUT_URL = "SEQSTUDIO_PROXY_SIGN_OUT_URL"
USER_MAX_ACTIVE_RUNS = "SEQSTUDIO_USER_MAX_ACTIVE_RUNS"
USER_MAX_STORAGE_MB = "SEQSTUDIO_USER_MAX_STORAGE_MB"

RUNNERS = ("local", "ray")
AUTH_MODES = ("none", "oidc", "proxy")
BACKENDS = ("auto", "jax", "tensorflow")
_ON = ("on", "1", "yes", "true")
_OFF = ("off", "0", "no", "false")


def _raw(name: str) -> str:
    """The variable's value, stripped; '' when unset or blank (blank counts as unset)."""
    return os.environ.get(name, "").strip()


def choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """A value from ``choices`` (case-insensitive)."""
    raw = _raw(name).lower()
    if not raw:
        return default
    if raw not in choices:
        raise SettingsError(f"{name}={_raw(name)!r} is not a valid setting: use one of {', '.join(choices)} "
                            f"(or leave it unset for {default}).")
    return raw


def flag(name: str, default: bool) -> bool:
    """An on/off switch: on/1/yes/true or off/0/no/false."""
    raw = _raw(name).lower()
    if not raw:
        return default
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    raise SettingsError(f"{name}={_raw(name)!r} is not a valid setting: use on or off "
                        f"(or leave it unset for {'on' if default else 'off'}).")


def number(name: str, default: float | None, *, minimum: float | None = None, maximum: float | None = None,
           integer: bool = False, strict_minimum: bool = False) -> float | None:
    """A finite number within [minimum, maximum] (``strict_minimum``: above minimum); ``integer``: whole."""
    raw = _raw(name)
    if not raw:
        return default
    kind = "a whole number" if integer else "a number"
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not {kind}; set it to {kind} or leave it unset.") from None
    if not math.isfinite(value) or (integer and value != int(value)):
        raise SettingsError(f"{name}={raw!r} is not {kind}; set it to {kind} or leave it unset.")
    low_bad = minimum is not None and (value <= minimum if strict_minimum else value < minimum)
    if low_bad or (maximum is not None and value > maximum):
        if minimum is not None and maximum is not None:
            rng = f"between {minimum:g} and {maximum:g}"
        elif minimum is not None:
            rng = f"above {minimum:g}" if strict_minimum else f"{minimum:g} or more"
        else:
            rng = f"{maximum:g} or less"
        raise SettingsError(f"{name}={raw!r} is out of range: it must be {rng}.")
    return int(value) if integer else value


# ----------------------------------------------------------------------------- the settings


def default_home() -> Path:
    """The data folder: ``$SEQSTUDIO_HOME`` or ``~/.seqstudio``."""
    raw = _raw(HOME)
    if "\x00" in raw:
        raise SettingsError(f"{HOME} contains a NUL character; set it to a folder path.")
    return Path(raw).expanduser() if raw else Path.home() / ".seqstudio"


def runner() -> str:
    """Which runner backend executes runs (``local`` or ``ray``)."""
    return choice(RUNNER, RUNNERS, "local")


def backend() -> str:
    """The requested Keras backend: ``auto`` (JAX when installed, else TensorFlow), ``jax`` or ``tensorflow``."""
    return choice(BACKEND, BACKENDS, "auto")


def compile_cache() -> str | None:
    """``None`` when the compile cache is off; else a folder ('' = the default under the data folder)."""
    raw = _raw(COMPILE_CACHE)
    if raw.lower() in _OFF:
        return None
    return "" if raw.lower() in _ON else raw


def data_parallel() -> int | None:
    """Slices per training batch on a CPU under JAX (seqcore.modeling.data_parallel): ``auto`` (None, the
    default: one per core), ``off`` (1) or a number of slices (1 to 64)."""
    raw = _raw(DATA_PARALLEL).lower()
    if not raw or raw == "auto":
        return None
    if raw in _OFF:
        return 1
    if raw in _ON:
        return None
    return int(number(DATA_PARALLEL, None, minimum=1, maximum=64, integer=True))


def prewarm() -> bool:
    """Whether the warm worker prepares the Train page's run before Start is pressed."""
    return flag(PREWARM, True)


def max_workers() -> int:
    """Training runs at once."""
    return int(number(MAX_WORKERS, 1, minimum=1, maximum=64, integer=True))


def worker_nice() -> int:
    """The niceness increment of worker processes (0 = same priority as the app)."""
    return int(number(WORKER_NICE, 2, minimum=0, maximum=19, integer=True))


def worker_idle_exit() -> float | None:
    """Seconds after which an idle supervisor exits; None = never."""
    return number(WORKER_IDLE_EXIT, None, minimum=0, strict_minimum=True)


def stat_budget() -> float:
    """Seconds each statistical baseline (AutoETS, AutoARIMA, AutoTheta) may take on a forecast's test part;
    0 turns them off."""
    return float(number(STAT_BUDGET, 20.0, minimum=0, maximum=3600))


def base_search() -> bool:
    """Whether a forecast with ``base="auto"`` picks its base by validation (one training per candidate,
    :mod:`seqcore.modeling.base_select`); off, "auto" keeps the network alone without trying the others (for a
    slow machine, and the test suite, where most runs are not about the base)."""
    return flag(BASE_SEARCH, True)


def ensemble() -> bool:
    """Whether ``TrainSpec.members = 0`` (automatic) trains several networks on small classification sets and
    averages them (:mod:`seqcore.modeling.ensemble`); off, "automatic" trains one (for a slow machine, and the
    test suite, where most runs are not about it). An explicit member count is always honoured."""
    return flag(ENSEMBLE, True)


def arch_search() -> bool:
    """Whether sequence classification with ``conv="auto"`` / ``augment="auto"`` picks its design by validation
    or cross-validation on the training part (one training per candidate and fold,
    :mod:`seqcore.modeling.arch_select`); off, "auto" keeps the recurrent network alone (the test suite)."""
    return flag(ARCH_SEARCH, True)


def tensorboard() -> bool:
    """Whether every run writes TensorBoard event files into ``<run folder>/tensorboard`` (:mod:`seqcore.runs.tracking`)."""
    return flag(TENSORBOARD, True)


def auth_mode() -> str:
    """Who uses the app (:mod:`seqcore.auth`): ``none`` (one local workspace, the default), ``oidc`` (sign-in with
    an OpenID Connect provider through Streamlit's ``st.login``) or ``proxy`` (a user header set by a trusted
    reverse proxy)."""
    return choice(AUTH, AUTH_MODES, "none")


def _names(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in _raw(name).split(",") if v.strip())


def admins() -> tuple[str, ...]:
    """E-mail addresses (or proxy user names) that see and manage everything, lower-cased."""
    out = tuple(v.lower() for v in _names(ADMINS))
    bad = [v for v in out if any(ch.isspace() for ch in v) or len(v) > 254]
    if bad:
        raise SettingsError(f"{ADMINS} holds {bad[0]!r}, which is not a user name or e-mail address: give a "
                            "comma-separated list such as SEQSTUDIO_ADMINS=ana@example.org,li@example.org.")
    return out


def proxy_header() -> str:
    """The request header that carries the signed-in user in ``proxy`` mode (oauth2-proxy's by default)."""
    raw = _raw(PROXY_HEADER) or "X-Forwarded-Email"
    if not all(ch.isalnum() or ch == "-" for ch in raw):
        raise SettingsError(f"{PROXY_HEADER}={raw!r} is not a header name (letters, digits and '-').")
    return raw


def proxy_addresses() -> tuple[str, ...]:
    """Addresses the user header is trusted from in ``proxy`` mode (the reverse proxy's; loopback by default)."""
    import ipaddress

    out = _names(PROXY_ADDRESSES) or ("127.0.0.1", "::1")
    for v in out:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError as err:
            raise SettingsError(f"{PROXY_ADDRESSES} holds {v!r}, which is not an IP address or network (such as "
                                "10.0.0.5 or 10.0.0.0/24).") from err
    return out


def proxy_sign_out_url() -> str | None:
    """Where the app's "Sign out" button sends a user in ``proxy`` mode (oauth2-proxy's ``/oauth2/sign_out`` by
    default; ``none`` hides the button): a path on the same site or an http(s) address."""
    raw = _raw(PROXY_SIGN_OUT_URL) or "/oauth2/sign_out"
    if raw.lower() == "none":
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in raw) or not (
            (raw.startswith("/") and not raw.startswith("//")) or raw.lower().startswith(("https://", "http://"))):
        raise SettingsError(f"{PROXY_SIGN_OUT_URL}={raw!r} is not a sign-out address: give a path such as "
                            "/oauth2/sign_out, an http(s):// address, or none.")
    return raw


def user_max_active_runs() -> int:
    """Runs one user may have queued or running at once (sweep trials included); 0 = no limit."""
    return int(number(USER_MAX_ACTIVE_RUNS, 20, minimum=0, integer=True))


def user_max_storage_mb() -> float:
    """Megabytes of datasets and run folders one user may keep; 0 = no limit."""
    return float(number(USER_MAX_STORAGE_MB, 5000, minimum=0))


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_rows: int
    max_columns: int


def upload_limits(default_bytes: int, default_rows: int, default_columns: int) -> UploadLimits:
    """Upload size limits; each variable on its own (a bad one is refused, the others are not reset)."""
    mb = number(MAX_UPLOAD_MB, default_bytes / 2**20, minimum=0, strict_minimum=True, maximum=1024 * 1024)
    return UploadLimits(
        max_bytes=int(mb * 2**20),
        max_rows=int(number(MAX_ROWS, default_rows, minimum=1, integer=True)),
        max_columns=int(number(MAX_COLUMNS, default_columns, minimum=1, integer=True)),
    )


def check() -> None:
    """Read every setting once; raises :class:`SettingsError` (naming the variable) for the first bad one."""
    from seqcore.config import Limits

    default_home()
    runner()
    backend()
    compile_cache()
    data_parallel()
    prewarm()
    max_workers()
    worker_nice()
    worker_idle_exit()
    stat_budget()
    base_search()
    arch_search()
    tensorboard()
    auth_mode()
    admins()
    proxy_header()
    proxy_addresses()
    proxy_sign_out_url()
    user_max_active_runs()
    user_max_storage_mb()
    Limits.from_env()
