"""How a webhook delivery is signed: the Standard Webhooks signature, the previous
X-VSWidget-Signature (sent until the next release), and the secret as receivers are
given it. Kept apart from the deliveries, which need an HTTP client, so that the
publisher API can show a secret without loading one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def receiver_secret(secret: str) -> str:
    """Return a stored webhook secret as receivers are given it: ``whsec_`` and the
    base64 of its bytes, what Standard Webhooks libraries take."""
    return "whsec_" + base64.b64encode(secret.encode()).decode()


def digest(secret: str, message: str) -> bytes:
    """Return the HMAC-SHA256 of ``message`` keyed with the bytes of ``secret``."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def signature(secret: str, delivery: str, timestamp: str, body: str) -> str:
    """Return the ``webhook-signature`` of a delivery."""
    return "v1," + base64.b64encode(digest(secret, f"{delivery}.{timestamp}.{body}")).decode()


def legacy_signature(secret: str, timestamp: str, body: str) -> str:
    """Return the X-VSWidget-Signature of a delivery; sent until the next release."""
    return "sha256=" + digest(secret, f"{timestamp}.{body}").hex()
