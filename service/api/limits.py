"""Rate limits for the public endpoints (per client address)."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, storage_uri="memory://",
                  headers_enabled=True)
