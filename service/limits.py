"""Rate limits for the public endpoints and pages (per client address)."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# storage comes from the app's RATELIMIT_STORAGE_URI (MEMBERFLOW_RATELIMIT_STORAGE):
# memory:// counts per process; several app servers share redis://host:6379
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
