"""How the order service knows its customers: the identity provider whose tokens it trusts.

Unset (the default), the service has no customer identity: anyone may place an order
and read it by its random id, and only the admin token lists orders. Set, every order
request carries a customer's JWT, verified against the issuer, the audience and either
the provider's published keys (a JWKS: RS256 or ES256) or, in development only, a shared
HS256 secret.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 32
"""RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits."""


class CustomerIdentitySettings(BaseSettings):
    """The identity provider's issuer, this service's audience and the keys to verify with."""

    # hide_input_in_errors: a refused setting's error message must not quote a secret.
    model_config = SettingsConfigDict(
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    customer_jwt_issuer: str | None = Field(default=None, validation_alias="CUSTOMER_JWT_ISSUER")
    customer_jwt_audience: str | None = Field(
        default=None, validation_alias="CUSTOMER_JWT_AUDIENCE"
    )
    customer_jwt_jwks_url: str | None = Field(
        default=None, validation_alias="CUSTOMER_JWT_JWKS_URL"
    )
    customer_jwt_jwks_file: str | None = Field(
        default=None, validation_alias="CUSTOMER_JWT_JWKS_FILE"
    )
    customer_jwt_secret: SecretStr | None = Field(
        default=None, validation_alias="CUSTOMER_JWT_SECRET"
    )

    @property
    def identity_configured(self) -> bool:
        # Truthiness, not None: an exported but empty CUSTOMER_JWT_ISSUER is unset.
        return bool(self.customer_jwt_issuer)

    @model_validator(mode="after")
    def _complete_or_absent(self) -> Self:
        key_sources = {
            "CUSTOMER_JWT_JWKS_URL": self.customer_jwt_jwks_url,
            "CUSTOMER_JWT_JWKS_FILE": self.customer_jwt_jwks_file,
            "CUSTOMER_JWT_SECRET": self.customer_jwt_secret,
        }
        given = [name for name, value in key_sources.items() if value]
        if not given and not self.customer_jwt_issuer and not self.customer_jwt_audience:
            return self
        # Half an identity would be worse than none: a token checked without its
        # audience is accepted from any service the same provider signs for.
        missing = [
            name
            for name, value in (
                ("CUSTOMER_JWT_ISSUER", self.customer_jwt_issuer),
                ("CUSTOMER_JWT_AUDIENCE", self.customer_jwt_audience),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"customer identity needs {' and '.join(missing)} as well")
        if len(given) != 1:
            raise ValueError(
                "customer identity needs exactly one of CUSTOMER_JWT_JWKS_URL, "
                f"CUSTOMER_JWT_JWKS_FILE or CUSTOMER_JWT_SECRET (given: {given or 'none'})"
            )
        secret = self.customer_jwt_secret
        if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"CUSTOMER_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        if self.customer_jwt_jwks_url and not _trusted_transport(self.customer_jwt_jwks_url):
            # Keys fetched in the clear could be swapped by anyone on the path.
            raise ValueError("CUSTOMER_JWT_JWKS_URL must be https (http only for localhost)")
        return self


def _trusted_transport(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False
