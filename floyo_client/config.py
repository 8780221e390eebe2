"""Where the client's settings come from: environment variables and the key file.

Read at use, never at import (docs/architecture.md, "Public contract"). Refuses plain
``http://`` unless the host is loopback, so a key is never sent in clear over a network.
Must not log or return the key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from yarl import URL

from .errors import ConfigError

DEFAULT_API_URL = "https://api.floyo.ai"
DEFAULT_CDN_URL = "https://cdn.floyo.ai"
ENV_KEY, ENV_API_URL, ENV_CDN_URL = "FLOYO_API_KEY", "FLOYO_API_URL", "FLOYO_CDN_URL"
ENV_MAX_OUTPUT_MB = "FLOYO_MAX_OUTPUT_MB"
ENV_MAX_OUTPUTS, ENV_MAX_RUN_MB = "FLOYO_MAX_OUTPUTS", "FLOYO_MAX_RUN_MB"  # per-run budgets
ENV_MAX_MEGAPIXELS = "FLOYO_MAX_MEGAPIXELS"
ENV_MAX_UPLOAD_MB = "FLOYO_MAX_UPLOAD_MB"
ENV_CA_BUNDLE = "FLOYO_CA_BUNDLE"
ENV_OUTAGE_LIMIT_MIN = "FLOYO_OUTAGE_LIMIT_MIN"
DEFAULT_OUTAGE_LIMIT_MIN = 30
DEFAULT_MAX_OUTPUT_MB = 1024
DEFAULT_MAX_OUTPUTS, DEFAULT_MAX_RUN_MB, DEFAULT_MAX_MEGAPIXELS = 1000, 4096, 512
DEFAULT_MAX_UPLOAD_MB = 1024
MISSING_KEY_HELP = (
    "No Floyo API key is configured: set the FLOYO_API_KEY environment variable, or enter the key "
    "in ComfyUI's settings (Floyo > API key). Keys are created under Team Settings > Floyo API."
)


@dataclass(frozen=True)
class Config:
    """Everything needed to talk to Floyo; ``api_key`` is kept out of ``repr``."""

    api_key: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    cdn_url: str = DEFAULT_CDN_URL
    key_source: str = "environment"
    ca_bundle: str | None = None  # extra PEM CA certificates to trust for https (FLOYO_CA_BUNDLE)

    @property
    def team(self) -> str:
        """Whose runs and files these are, as the journal records it: a digest of the key (each key
        belongs to one team), never the key. A one-way hash of a long random key reveals nothing."""
        return hashlib.sha256(b"floyo-team\0" + self.api_key.encode()).hexdigest()[:32]


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, what: str) -> str:
    """Return ``url`` without a trailing slash, or raise ConfigError naming the fix."""
    parsed = URL(url.strip())
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ConfigError(f"{what} must be an https:// URL, got {url!r}.")
    if parsed.scheme == "http" and not is_loopback_host(parsed.host):
        raise ConfigError(
            f"{what} uses plain http:// to {parsed.host}: the API key would travel unencrypted. "
            "Use https://, or http:// only for a server on this machine (127.0.0.1)."
        )
    if parsed.user or parsed.password or parsed.query_string or parsed.fragment:
        raise ConfigError(f"{what} must not carry credentials, a query or a fragment.")
    return str(parsed).rstrip("/")


def clean_key(key: str) -> str:
    """Validate a key's shape (no whitespace inside, sane length) and return it stripped."""
    key = key.strip()
    if not 8 <= len(key) <= 512 or any(c.isspace() or not c.isprintable() for c in key):
        raise ConfigError("That does not look like a Floyo API key (they start with flo_).")
    return key


def read_key_file(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return text or None


def write_key_file(path: Path, key: str) -> None:
    """Store the key with mode 0600, atomically (a reader never sees half a key) and durably.

    The key goes to a fresh, uniquely named temp file in the same folder (``mkstemp``: created
    with O_EXCL, so no symlink or file planted under a guessable name is ever followed), is
    fsynced, and is renamed over the key file (a rename replaces a symlink, never writes through
    it); the folder is fsynced so the rename survives a power cut.
    """
    key = clean_key(key)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # folders cannot be opened for fsync there; NTFS journals the rename
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def key_status(key_file: Path | None, env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Whether a key is configured and where from; never the key itself."""
    env = os.environ if env is None else env
    if env.get(ENV_KEY, "").strip():
        return {"configured": True, "source": "environment"}
    if read_key_file(key_file):
        return {"configured": True, "source": "key file"}
    return {"configured": False, "source": None}


def load_config(key_file: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Build a Config from the environment, then the key file. Raises ConfigError."""
    env = os.environ if env is None else env
    key, source = env.get(ENV_KEY, "").strip(), "environment"
    if not key:
        key, source = read_key_file(key_file) or "", "key file"
    if not key:
        raise ConfigError(MISSING_KEY_HELP)
    return Config(
        api_key=clean_key(key),
        api_url=check_base_url(env.get(ENV_API_URL) or DEFAULT_API_URL, ENV_API_URL),
        cdn_url=check_base_url(env.get(ENV_CDN_URL) or DEFAULT_CDN_URL, ENV_CDN_URL),
        key_source=source,
        ca_bundle=check_ca_bundle(env.get(ENV_CA_BUNDLE, "").strip() or None),
    )


def check_ca_bundle(path: str | None) -> str | None:
    """A readable PEM file of extra CAs to trust (added to the system store, never replacing it)."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise ConfigError(f"{ENV_CA_BUNDLE} names {path!r}, which is not a readable file: point it at "
                          "a PEM file of CA certificates, or unset it.")
    return path


def max_output_bytes(env: Mapping[str, str] | None = None) -> int:
    """The per-file download cap (``FLOYO_MAX_OUTPUT_MB``, default 1024 MB)."""
    env = os.environ if env is None else env
    try:
        mb = float(env.get(ENV_MAX_OUTPUT_MB) or DEFAULT_MAX_OUTPUT_MB)
    except ValueError:
        raise ConfigError(f"{ENV_MAX_OUTPUT_MB} must be a number of megabytes.") from None
    return int(max(mb, 1) * 1024 * 1024)


def _positive(env: Mapping[str, str] | None, name: str, default: float, unit: str) -> float:
    env = os.environ if env is None else env
    try:
        value = float(env.get(name) or default)
    except ValueError:
        raise ConfigError(f"{name} must be a number of {unit}.") from None
    return max(value, 1.0)


def max_outputs(env: Mapping[str, str] | None = None) -> int:
    """How many output files one run may list (``FLOYO_MAX_OUTPUTS``, default 1000)."""
    return int(_positive(env, ENV_MAX_OUTPUTS, DEFAULT_MAX_OUTPUTS, "files"))


def max_run_bytes(env: Mapping[str, str] | None = None) -> int:
    """The total download size of one run (``FLOYO_MAX_RUN_MB``, default 4096 MB)."""
    return int(_positive(env, ENV_MAX_RUN_MB, DEFAULT_MAX_RUN_MB, "megabytes") * 1024 * 1024)


def max_upload_bytes(env: Mapping[str, str] | None = None) -> int:
    """The largest input file the pack uploads (``FLOYO_MAX_UPLOAD_MB``, default 1024 MB): an upload
    is read whole before it is sent, so this bounds the memory one upload takes."""
    return int(_positive(env, ENV_MAX_UPLOAD_MB, DEFAULT_MAX_UPLOAD_MB, "megabytes") * 1024 * 1024)


def max_batch_pixels(env: Mapping[str, str] | None = None) -> int:
    """Decoded pixels of one run's IMAGE batch, padding included (``FLOYO_MAX_MEGAPIXELS``,
    default 512: about 8 GB of float32 IMAGE and MASK)."""
    return int(_positive(env, ENV_MAX_MEGAPIXELS, DEFAULT_MAX_MEGAPIXELS, "megapixels") * 1_000_000)


def outage_limit_s(env: Mapping[str, str] | None = None) -> float:
    """How long a watched run rides out an unreachable Floyo before the node stops waiting and
    leaves it running (``FLOYO_OUTAGE_LIMIT_MIN``, default 30 minutes)."""
    env = os.environ if env is None else env
    try:
        minutes = float(env.get(ENV_OUTAGE_LIMIT_MIN) or DEFAULT_OUTAGE_LIMIT_MIN)
    except ValueError:
        raise ConfigError(f"{ENV_OUTAGE_LIMIT_MIN} must be a number of minutes.") from None
    return max(minutes, 0.0) * 60.0
