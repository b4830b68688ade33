"""TLS for every server: the operating system's trust store through truststore (so a company CA the
system trusts works, as in the browser), certifi's bundle where truststore cannot be used, plus a
server's own `ca_bundle` and client certificate; and a refused certificate said in words."""

from __future__ import annotations

import functools
import logging
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from devic_tui.config import ServerConfig
from devic_tui.providers.errors import NetworkSetupError

log = logging.getLogger("devic_tui.http")

# OpenSSL's verify codes for which trusting another CA would not help.
_X509_V_ERR_CERT_NOT_YET_VALID = 9
_X509_V_ERR_CERT_HAS_EXPIRED = 10
_X509_V_ERR_HOSTNAME_MISMATCH = 62
_NOT_A_TRUST_PROBLEM = frozenset(
    {_X509_V_ERR_CERT_NOT_YET_VALID, _X509_V_ERR_CERT_HAS_EXPIRED, _X509_V_ERR_HOSTNAME_MISMATCH}
)


class _EncryptedKeyError(Exception):
    """Raised from the key password callback, so OpenSSL never prompts on the terminal."""


def _refuse_password() -> str:
    raise _EncryptedKeyError


class _SettingError(Exception):
    """A file named by a setting did not load (turned into NetworkSetupError with the server's name)."""

    def __init__(self, setting: str, path: Path, reason: str) -> None:
        self.setting, self.path, self.reason = setting, path, reason


def _reason(error: OSError | ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLError):
        return error.reason or str(error)
    return error.strerror or str(error)


def system_trust_context() -> ssl.SSLContext:
    """A verifying context over the operating system's trust store, or over certifi's bundle."""
    try:
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except (ImportError, OSError, ssl.SSLError) as error:
        import certifi

        log.warning("the system trust store cannot be used (%s); trusting certifi's CAs instead", error)
        return ssl.create_default_context(cafile=certifi.where())


@functools.cache
def _context(ca_bundle: Path | None, client_cert: Path | None, client_key: Path | None) -> ssl.SSLContext:
    """One context per set of files, shared by every client using it: building one costs ~100 ms."""
    context = system_trust_context()
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as error:
            raise _SettingError("ca_bundle", ca_bundle, _reason(error)) from None
    if client_cert is not None:
        try:
            context.load_cert_chain(client_cert, client_key, password=_refuse_password)
        except _EncryptedKeyError:
            raise _SettingError(
                "client_key" if client_key else "client_cert",
                client_key or client_cert,
                "the key is encrypted, and devic-tui cannot ask for its passphrase; keep a decrypted "
                "copy readable by you alone (openssl pkey -in KEY -out PLAIN; chmod 600 PLAIN)",
            ) from None
        except (OSError, ssl.SSLError) as error:
            which = "client_cert" if client_key is None else "client_cert/client_key"
            raise _SettingError(which, client_cert, _reason(error)) from None
    return context


def tls_context_for(server: ServerConfig) -> ssl.SSLContext:
    """The verified TLS context for `server`; NetworkSetupError when its files do not load."""
    try:
        return _context(server.ca_bundle, server.client_cert, server.client_key)
    except _SettingError as error:
        raise NetworkSetupError(
            f"server '{server.name}': {error.setting} {error.path} cannot be used: {error.reason}",
            server=server.name,
        ) from None


def certificate_failure(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind a connection error, if that is what it was."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def describe_certificate_failure(
    server: ServerConfig, failure: ssl.SSLCertVerificationError, *, through: str = ""
) -> str:
    """Which host's certificate was refused, why, and (where it would help) the setting that fixes it."""
    parts = urlsplit(server.resolved_base_url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    why = getattr(failure, "verify_message", None) or failure.reason or str(failure)
    seen = f" (as seen through the proxy {through})" if through else ""
    message = f"server '{server.name}': the TLS certificate of {host}{seen} was refused: {why}"
    if getattr(failure, "verify_code", None) in _NOT_A_TRUST_PROBLEM:
        return message
    if server.ca_bundle is not None:
        return f"{message}; no CA in the system's store nor in ca_bundle {server.ca_bundle} signed it"
    return (
        f"{message}; if your organisation signs its own certificates, set "
        f'ca_bundle = "/path/to/ca.pem" in this server\'s config'
    )
