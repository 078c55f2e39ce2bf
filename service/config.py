"""Configuration read from the environment, each setting with a working development default."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """The configuration cannot be used (e.g. production without a secret key)."""


@dataclass
class Config:
    """Everything the app reads from its environment."""

    database_url: str
    secret_key: str
    files_dir: Path
    processes_dir: Path
    rules_dir: Path
    forms_dir: Path
    instance_dir: Path
    token_ttl_seconds: int = 8 * 3600
    max_upload_bytes: int = 10 * 1024 * 1024
    public_base_url: str = "http://127.0.0.1:5000"
    join_upload_rate: str = "30 per minute"
    lookup_rate: str = "20 per minute"
    certificate_font: str | None = None  # a TrueType file embedded in certificate PDFs
    ratelimit_storage: str = "memory://"
    secure_cookies: bool = False  # session cookie only over HTTPS (MEMBERFLOW_SECURE_COOKIES)
    testing: bool = False
    cpd_cutoff: str = "TUE 15:00"  # weekly CPD batch cut-off, Asia/Shanghai
    reminder_time: str = "08:00"  # daily expiry reminders, Asia/Shanghai
    scheduler_retry_seconds: float = 5.0  # how often a follower tries to become leader
    extra: dict = field(default_factory=dict)


def _secret_key(instance_dir: Path, production: bool) -> str:
    key = os.environ.get("MEMBERFLOW_SECRET_KEY")
    if key:
        return key
    if production:
        raise ConfigError("生产环境必须设置 MEMBERFLOW_SECRET_KEY")
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config(**overrides) -> Config:
    """Read the environment; keyword arguments win (tests pass their own)."""
    env = os.environ
    instance_dir = Path(env.get("MEMBERFLOW_INSTANCE_DIR", REPO_ROOT / "instance"))
    production = env.get("MEMBERFLOW_ENV", "development") == "production"
    values = dict(
        database_url=env.get(
            "MEMBERFLOW_DATABASE_URL", f"sqlite:///{instance_dir / 'memberflow.sqlite3'}"
        ),
        files_dir=Path(env.get("MEMBERFLOW_FILES_DIR", instance_dir / "files")),
        processes_dir=Path(env.get("MEMBERFLOW_PROCESSES_DIR", REPO_ROOT / "processes")),
        rules_dir=Path(env.get("MEMBERFLOW_RULES_DIR", REPO_ROOT / "rules")),
        forms_dir=Path(env.get("MEMBERFLOW_FORMS_DIR", REPO_ROOT / "forms")),
        instance_dir=instance_dir,
        public_base_url=env.get("MEMBERFLOW_PUBLIC_URL", "http://127.0.0.1:5000"),
        token_ttl_seconds=int(env.get("MEMBERFLOW_TOKEN_TTL", 8 * 3600)),
        join_upload_rate=env.get("MEMBERFLOW_JOIN_RATE_LIMIT", "30 per minute"),
        lookup_rate=env.get("MEMBERFLOW_LOOKUP_RATE_LIMIT", "20 per minute"),
        certificate_font=env.get("MEMBERFLOW_CERTIFICATE_FONT") or None,
        ratelimit_storage=env.get("MEMBERFLOW_RATELIMIT_STORAGE", "memory://"),
        secure_cookies=env.get(
            "MEMBERFLOW_SECURE_COOKIES",
            "1" if env.get("MEMBERFLOW_PUBLIC_URL", "").startswith("https://") else "0",
        )
        in ("1", "true", "yes"),
        cpd_cutoff=env.get("MEMBERFLOW_CPD_CUTOFF", "TUE 15:00"),
        reminder_time=env.get("MEMBERFLOW_REMINDER_TIME", "08:00"),
        scheduler_retry_seconds=float(env.get("MEMBERFLOW_SCHEDULER_RETRY", 5)),
    )
    values.update(overrides)
    font = values.get("certificate_font")
    if font and not Path(font).is_file():
        raise ConfigError(f"MEMBERFLOW_CERTIFICATE_FONT 指向的字体文件不存在：{font}")
    if "secret_key" not in values:
        values["secret_key"] = _secret_key(Path(values["instance_dir"]), production)
    return Config(**values)
