"""Password hashes at the production cost (the tests' own process hashes cheaply: conftest)."""

from __future__ import annotations

import subprocess
import sys

from argon2 import extract_parameters

from service.services.membership.credentials import hash_password

SCRIPT = """
import sys
from service.services.membership.credentials import hash_password, password_matches
stored = hash_password("secret123")
assert password_matches(stored, "secret123") and not password_matches(stored, "secret124")
cheap = sys.argv[1]  # a hash the tests' process made: verified at the cost it records
assert password_matches(cheap, "secret123") and not password_matches(cheap, "secret124")
print(stored)
"""


def test_a_service_process_stores_argon2id_at_owasps_minimum_cost_and_verifies_any_cost():
    cheap = hash_password("secret123")  # at the cost conftest sets for this process
    # a fresh interpreter: what a server or the command line stores
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, cheap], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    stored = done.stdout.strip()
    assert stored.startswith("$argon2id$"), stored
    cost = extract_parameters(stored)
    assert (cost.time_cost, cost.memory_cost, cost.parallelism) == (2, 19 * 1024, 1)
