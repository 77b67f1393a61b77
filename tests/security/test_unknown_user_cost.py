"""An unknown username costs the same argon2 work as a wrong password (no user-enumeration
by timing). The dummy hash it is checked against is a stored constant (hashing it at import
slowed every worker's start), so it must carry the hasher's current parameters."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from app.services import auth


def test_the_hash_an_unknown_user_is_checked_against_has_the_password_hashers_cost(
    production_password_hasher: PasswordHasher,
) -> None:
    stored_user_hash = auth.hash_password("a password of a real user")
    assert extract_parameters(auth._DUMMY_HASH) == extract_parameters(stored_user_hash)
    assert PasswordHasher().verify(auth._DUMMY_HASH, "not-a-real-password")
