"""What a new password must be (OWASP ASVS 5.0 V6.2; NIST SP 800-63B §3.1.1.2).

At least 12 and at most 256 characters; not one of the 30,000 most common passwords; not
mostly one character repeated; not containing the username.

The common-password list comes from the `zxcvbn` package (4.5.0, MIT licence, pinned in
requirements.lock): its `passwords` frequency list is the 30,000 most frequent passwords of
Mark Burnett's "10 million passwords" dump as ranked by Xato. It is read from the installed
package, so nothing is fetched at run time. Compared case-insensitively.
"""

from __future__ import annotations

from functools import cache

from app.domain.patients import FieldProblem

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # the login form accepts no more, so a longer one could never be used
MIN_DISTINCT_CHARACTERS = 5
LIST_SOURCE = "zxcvbn 4.5.0 frequency list 'passwords' (Xato, top 30,000; MIT)"


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, username: str | None = None) -> tuple[FieldProblem, ...]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return (FieldProblem("password", f"At least {MIN_PASSWORD_LENGTH} characters."),)
    if len(password) > MAX_PASSWORD_LENGTH:
        return (FieldProblem("password", f"At most {MAX_PASSWORD_LENGTH} characters."),)
    folded = password.casefold()
    if folded in common_passwords():
        message = "This is one of the most common passwords; choose another."
        return (FieldProblem("password", message),)
    if len(set(folded)) < MIN_DISTINCT_CHARACTERS:
        message = f"Use at least {MIN_DISTINCT_CHARACTERS} different characters."
        return (FieldProblem("password", message),)
    if username and len(username) >= 3 and username.casefold() in folded:
        return (FieldProblem("password", "The password must not contain the username."),)
    return ()
