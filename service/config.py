"""Configuration read from the environment, each setting with a working development default."""

from __future__ import annotations

import math
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production")
MIN_SECRET_BYTES = 32  # a production secret key signs sessions, tokens and QR codes


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
    max_upload_bytes: int = 10 * 1024 * 1024  # an image or PDF
    max_video_bytes: int = 50 * 1024 * 1024  # a video (MP4/MOV), where a form's field takes one
    public_base_url: str = "http://127.0.0.1:5000"
    join_upload_rate: str = "30 per minute"
    lookup_rate: str = "20 per minute"
    certificate_font: str | None = None  # a TrueType file embedded in certificate PDFs
    # TrueType files for the characters certificate_font (or STSong-Light) lacks, in order
    certificate_fallback_fonts: tuple[str, ...] = ()
    ratelimit_storage: str = "memory://"  # memory:// means the database (limits.open_storage)
    signin_attempts: int = 5  # failed sign-ins per login name before it locks
    signin_lockout_seconds: int = 900  # the first lockout; each further one within a day doubles
    signin_address_failures: int = 30  # failed sign-ins per client address per 10 minutes
    secure_cookies: bool = False  # session cookie only over HTTPS (MEMBERFLOW_SECURE_COOKIES)
    testing: bool = False
    cpd_cutoff: str = "TUE 15:00"  # weekly CPD batch cut-off, Asia/Shanghai
    reminder_time: str = "08:00"  # daily expiry reminders, Asia/Shanghai
    scheduler_retry_seconds: float = 5.0  # how often a follower tries to become leader
    production: bool = False  # MEMBERFLOW_ENV=production
    storage: str = "local"  # "local" (files_dir) or "s3://bucket/prefix"
    s3_endpoint_url: str | None = None  # S3-compatible server (MinIO, OSS, COS…); unset: AWS
    s3_region: str | None = None
    proxies: int = 0  # trusted reverse proxies in front (X-Forwarded-*); 0: none
    workers: int = 2  # gunicorn worker processes (`memberflow serve`)
    threads: int = 8  # threads per worker
    join_quota_files: int = 40  # uploads through one join code not yet used by an application
    join_quota_bytes: int = 200 * 1024 * 1024  # … and their total size, within a day
    job_sync_rows: int = 1000  # a page's export up to this many rows downloads at once; more: a job
    statistics_ttl_seconds: int = 300  # how long the 首页 figures of one scope are kept
    # how long a worker trusts what it read of an account's sessions (services/membership/sessions)
    # 业务消息 by email (smtp://[user:password@]host:port?from=address&starttls=1) and by
    # SMS through an HTTP gateway (its URL and bearer token); unset: that channel is off
    smtp_url: str | None = None
    sms_url: str | None = None
    sms_token: str | None = None
    outbox_attempts: int = 8
    session_recheck_seconds: float = 5.0
    # how often a worker checks for a new deployment of the process files (deploy.py)
    definitions_recheck_seconds: float = 2.0
    extra: dict = field(default_factory=dict)

    @property
    def largest_upload_bytes(self) -> int:
        """The largest file any upload may be: a video's limit or an image's, the larger."""
        return max(self.max_upload_bytes, self.max_video_bytes)

    @property
    def upload_limits(self) -> str:
        """The upload limits as users read them: 图片和 PDF 文件不超过10MB，视频不超过50MB."""
        return (
            f"图片和 PDF 文件不超过{self.max_upload_bytes // 1048576}MB，"
            f"视频不超过{self.max_video_bytes // 1048576}MB"
        )

    @property
    def https(self) -> bool:
        """Served over HTTPS (the public URL says so): HSTS is sent."""
        return self.public_base_url.startswith("https://")


def _secret_key(instance_dir: Path, production: bool) -> str:
    key = os.environ.get("MEMBERFLOW_SECRET_KEY")
    if production and not key:
        raise ConfigError("生产环境必须设置 MEMBERFLOW_SECRET_KEY")
    if production and len(key.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"生产环境的 MEMBERFLOW_SECRET_KEY 至少需要 {MIN_SECRET_BYTES} 字节"
            f"（当前 {len(key.encode())} 字节），可用 python -c "
            "'import secrets; print(secrets.token_hex(32))' 生成"
        )
    if key:
        return key
    path = instance_dir / "secret_key"
    try:
        if not path.exists():
            instance_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"MEMBERFLOW_INSTANCE_DIR 所指的文件夹 {instance_dir} 无法创建或写入"
            f"（{exc.strerror or exc}），无法生成开发用密钥 {path.name}："
            "请把 MEMBERFLOW_INSTANCE_DIR 设为可写的文件夹，或设置 MEMBERFLOW_SECRET_KEY"
        ) from exc


def _environment(env) -> bool:
    """MEMBERFLOW_ENV, one of the known values (a typo must not run production as development)."""
    name = env.get("MEMBERFLOW_ENV", "development")
    if name not in ENVIRONMENTS:
        raise ConfigError(
            f"MEMBERFLOW_ENV 只能是 {' 或 '.join(ENVIRONMENTS)}（区分大小写），当前为 {name!r}"
        )
    return name == "production"


def _count(env, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(f"{name} 应为不小于 {minimum} 的整数，当前为 {raw!r}")
    return value


def _seconds(env, name: str, default: float, minimum: float) -> float:
    """A number of seconds (a fraction allowed), at least `minimum`."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{name} 应为不小于 {minimum} 的秒数，当前为 {raw!r}")
    return value


def _rate(env, name: str, default: str) -> str:
    """A rate limit as flask-limiter reads it ("20 per minute", "5/second;100/hour")."""
    from limits import parse_many

    value = env.get(name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(
            f"{name} 不是有效的频率限制，应形如 “20 per minute” 或 “5/second;100/hour”"
            f"（单位：second、minute、hour、day、month、year），当前为 {value!r}"
        ) from None
    return value


def _ratelimit_storage(value: str) -> str:
    """memory:// (the database) or a `limits` storage URL whose scheme `limits` knows."""
    from limits.storage import SCHEMES

    scheme = urlsplit(value).scheme
    if scheme == "memory":
        return value
    if scheme in SCHEMES and not scheme.startswith("async+") and scheme != "memberflow":
        return value
    raise ConfigError(
        "MEMBERFLOW_RATELIMIT_STORAGE 应为 memory://（计数存于数据库）或 limits 支持的存储地址"
        "（如 redis://主机:端口、rediss://、redis+sentinel://、memcached://），"
        f"当前为 {shown_url(value)!r}"
    )


def shown_url(url: str) -> str:
    """A URL as a message may print it: its password hidden."""
    return re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", url)


DATABASE_DRIVERS = {("postgresql", "psycopg"), ("sqlite", "pysqlite")}


def _database_url(value: str) -> str:
    """PostgreSQL through psycopg (3) or SQLite: the two databases the service runs on."""
    import sqlalchemy as sa

    try:
        url = sa.make_url(value)
        kind = (url.get_backend_name(), url.get_driver_name())
    except Exception:  # noqa: BLE001 - unparsable, or a dialect SQLAlchemy does not know
        kind = None
    if kind in DATABASE_DRIVERS:
        return value
    hint = ""
    if value.startswith("postgres:") or (kind and kind[0] == "postgresql"):
        hint = "（PostgreSQL 请写作 postgresql+psycopg://…）"
    raise ConfigError(
        "MEMBERFLOW_DATABASE_URL 应为 postgresql+psycopg://用户@主机:端口/数据库名 或 "
        f"sqlite:///文件路径{hint}，当前为 {shown_url(value)!r}"
    )


# Debian's fonts-hanazono (CJK Extensions B–F: HanaMinB; the BMP and Extension A: HanaMinA)
# and fonts-babelstone-han (part of Extensions G and H), all TrueType outlines reportlab embeds
CERTIFICATE_FALLBACK_FONTS = (
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf",
)


def _fallback_fonts(env) -> tuple[str, ...]:
    """MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS, paths separated by os.pathsep (set and empty:
    none); unset, those of Debian's that are installed."""
    value = env.get("MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS")
    if value is None:
        return tuple(p for p in CERTIFICATE_FALLBACK_FONTS if Path(p).is_file())
    return tuple(p for p in value.split(os.pathsep) if p)


def _check_fallback_font(path: str) -> None:
    """The file exists and holds TrueType outlines (a PostScript/CFF font, which reportlab
    refuses, would only show when a rare character needs it)."""
    name = "MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS"
    if not Path(path).is_file():
        raise ConfigError(f"{name} 中的字体文件不存在：{path}")
    with open(path, "rb") as file:
        tag = file.read(4)
        if tag == b"ttcf":  # a collection: its first font, the one reportlab reads
            file.seek(12)
            file.seek(int.from_bytes(file.read(4), "big"))
            tag = file.read(4)
    if tag not in (b"\x00\x01\x00\x00", b"true"):
        raise ConfigError(
            f"{name} 中的 {path} 不是 TrueType 字体：需要 TrueType 轮廓的 .ttf 文件（如 "
            "fonts-hanazono 的 HanaMinB.ttf）；PostScript/CFF 轮廓的字体（.otf）不能嵌入 PDF"
        )


def _storage(value: str) -> str:
    if value == "local" or (value.startswith("s3://") and value[5:].split("/")[0]):
        return value
    raise ConfigError(f"MEMBERFLOW_STORAGE 只能是 local 或 s3://存储桶/前缀，当前为 {value!r}")


SMTP_FORM = "smtp://[用户名:密码@]主机:端口?from=发件地址&starttls=1"
SMS_FORM = "http(s)://主机[:端口]/路径"


def _port_written(url: str) -> str | None:
    """The port as written after the host; None when the address may not be read that far
    safely: a `/`, `?` or `#` left unencoded in a password ends the host part early, and
    what would be read as the port is part of the password (never said)."""
    rest = url.partition("://")[2]
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, after = rest[:cut], rest[cut:]
    at = after.find("@")
    if "@" not in netloc and at >= 0 and not 0 <= after.find("=") < at:
        return None  # user:pass@ after the cut: the "port" is a piece of the password
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        host = host.partition("]")[2]
    return host.partition(":")[2] or None


def _address_problem(url: str, variable: str, schemes: tuple[str, ...], form: str) -> str | None:
    """What is wrong with the URL of a channel, in a sentence naming the setting; None when
    it can be used. The text never repeats a password written in the URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = None, 0
    if parts is None or port == 0:
        written = _port_written(url.strip())
        what = (
            f"端口「{written}」不是 1–65535 之间的数字"
            if written
            else "地址无法解析（用户名、密码中的 / ? # @ 须写成 %2F %3F %23 %40）"
        )
        return f"{variable} 配置有误：{what}，应为 {form}"
    if parts.scheme.lower() not in schemes:
        want = " 或 ".join(f"{s}://" for s in schemes)
        return f"{variable} 配置有误：地址应以 {want} 开头，应为 {form}"
    if not parts.hostname:
        return f"{variable} 配置有误：缺少主机名，应为 {form}"
    return None


def smtp_url_problem(url: str) -> str | None:
    """Why MEMBERFLOW_SMTP_URL cannot be used (smtp://[user:password@]host:port
    ?from=address&starttls=1), or None."""
    problem = _address_problem(url, "MEMBERFLOW_SMTP_URL", ("smtp",), SMTP_FORM)
    if problem:
        return problem
    query = parse_qs(urlsplit(url.strip()).query)
    sender = (query.get("from") or [None])[0]
    if sender is not None and "@" not in sender:
        return f"MEMBERFLOW_SMTP_URL 配置有误：发件地址 from=「{sender}」不是邮箱地址"
    starttls = (query.get("starttls") or ["0"])[0].lower()
    if starttls not in ("0", "1", "true", "false"):
        return f"MEMBERFLOW_SMTP_URL 配置有误：starttls=「{starttls}」应为 1 或 0"
    return None


def sms_url_problem(url: str) -> str | None:
    """Why MEMBERFLOW_SMS_URL cannot be used (http:// or https://, a host), or None."""
    return _address_problem(url, "MEMBERFLOW_SMS_URL", ("http", "https"), SMS_FORM)


def _channel_url(env, name: str, problem) -> str | None:
    """A message channel's address (unset: that channel is off), refused at the start when
    the outbox could not send through it (the same reading, `smtp_url_problem` /
    `sms_url_problem`): else every message of the channel would fail, found only later."""
    value = env.get(name) or None
    if value is not None and (said := problem(value)):
        raise ConfigError(said)
    return value


def load_config(**overrides) -> Config:
    """Read the environment; keyword arguments win (tests pass their own)."""
    env = os.environ
    instance_dir = Path(env.get("MEMBERFLOW_INSTANCE_DIR", REPO_ROOT / "instance"))
    production = overrides.get("production", _environment(env))
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
        # a token must outlive a page's use: under a minute, everyone is signed out at once
        token_ttl_seconds=_count(env, "MEMBERFLOW_TOKEN_TTL", 8 * 3600, minimum=60),
        join_upload_rate=_rate(env, "MEMBERFLOW_JOIN_RATE_LIMIT", "30 per minute"),
        lookup_rate=_rate(env, "MEMBERFLOW_LOOKUP_RATE_LIMIT", "20 per minute"),
        certificate_font=env.get("MEMBERFLOW_CERTIFICATE_FONT") or None,
        certificate_fallback_fonts=_fallback_fonts(env),
        ratelimit_storage=_ratelimit_storage(
            env.get("MEMBERFLOW_RATELIMIT_STORAGE") or "memory://"
        ),
        # 0 attempts would lock every name at its first (right) password
        signin_attempts=_count(env, "MEMBERFLOW_SIGNIN_ATTEMPTS", 5, minimum=1),
        signin_lockout_seconds=_count(env, "MEMBERFLOW_SIGNIN_LOCKOUT", 900, minimum=1),
        signin_address_failures=_count(env, "MEMBERFLOW_SIGNIN_ADDRESS_FAILURES", 30, minimum=1),
        secure_cookies=env.get(
            "MEMBERFLOW_SECURE_COOKIES",
            "1" if env.get("MEMBERFLOW_PUBLIC_URL", "").startswith("https://") else "0",
        )
        in ("1", "true", "yes"),
        cpd_cutoff=env.get("MEMBERFLOW_CPD_CUTOFF", "TUE 15:00"),
        reminder_time=env.get("MEMBERFLOW_REMINDER_TIME", "08:00"),
        # as `memberflow scheduler --retry`: a waiting scheduler must not spin
        scheduler_retry_seconds=_seconds(env, "MEMBERFLOW_SCHEDULER_RETRY", 5.0, minimum=0.1),
        production=production,
        storage=_storage(env.get("MEMBERFLOW_STORAGE", "local")),
        s3_endpoint_url=env.get("MEMBERFLOW_S3_ENDPOINT_URL") or None,
        s3_region=env.get("MEMBERFLOW_S3_REGION") or None,
        proxies=_count(env, "MEMBERFLOW_PROXIES", 0),
        workers=_count(env, "MEMBERFLOW_WORKERS", 2, minimum=1),
        threads=_count(env, "MEMBERFLOW_THREADS", 8, minimum=1),
        join_quota_files=_count(env, "MEMBERFLOW_JOIN_UPLOAD_QUOTA_FILES", 40, minimum=1),
        max_video_bytes=_count(env, "MEMBERFLOW_MAX_VIDEO_MB", 50, minimum=1) * 1024 * 1024,
        join_quota_bytes=_count(env, "MEMBERFLOW_JOIN_UPLOAD_QUOTA_MB", 200, minimum=1)
        * 1024
        * 1024,
        job_sync_rows=_count(env, "MEMBERFLOW_JOB_SYNC_ROWS", 1000),
        statistics_ttl_seconds=_count(env, "MEMBERFLOW_STATISTICS_TTL", 300),
        session_recheck_seconds=_count(env, "MEMBERFLOW_SESSION_RECHECK", 5),
        definitions_recheck_seconds=_count(env, "MEMBERFLOW_DEFINITIONS_RECHECK", 2),
        smtp_url=_channel_url(env, "MEMBERFLOW_SMTP_URL", smtp_url_problem),
        sms_url=_channel_url(env, "MEMBERFLOW_SMS_URL", sms_url_problem),
        sms_token=env.get("MEMBERFLOW_SMS_TOKEN") or None,
        outbox_attempts=_count(env, "MEMBERFLOW_OUTBOX_ATTEMPTS", 8, minimum=1),
    )
    values.update(overrides)
    values["database_url"] = _database_url(values["database_url"])
    font = values.get("certificate_font")
    if font and not Path(font).is_file():
        raise ConfigError(f"MEMBERFLOW_CERTIFICATE_FONT 指向的字体文件不存在：{font}")
    for path in values.get("certificate_fallback_fonts", ()):
        _check_fallback_font(path)
    if "secret_key" not in values:
        values["secret_key"] = _secret_key(Path(values["instance_dir"]), production)
    return Config(**values)
