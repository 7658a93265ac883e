"""URLs in messages: whatever stands where a password would be is masked, even in a URL that cannot
be parsed (a malformed DATABASE_URL, an API root with credentials in it)."""

from __future__ import annotations

import re

__all__ = ["mask_password"]

# `scheme://user:` then the password, up to the last `@` (a malformed URL may have more than one).
_PASSWORD = re.compile(r"^(?P<head>[^:/?#]*://[^:/?#@]*:)(?P<password>.*)@", re.DOTALL)


def mask_password(text: str) -> str:
    """`text` with a URL password replaced by *** (masking too much is better than too little)."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***@", text, count=1)
