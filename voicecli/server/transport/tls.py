"""TLS for `voicecli serve --tls`: wss:// with a certificate the user gives or one made here.

Clients nobody here wrote insist on TLS: google-genai forces `wss://` whatever base URL it is
given (../shared/components.md §6). So the server can serve wss with a self-signed certificate
for `localhost`, `127.0.0.1` and `::1`, made once and kept in the state folder
(``$XDG_STATE_HOME/voicecli/tls``, ``~/.local/state/voicecli/tls``) so clients can trust it
once. It is made with the `cryptography` package when installed, else with the `openssl` tool.
The private key is written readable by its owner only.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from voicecli.errors import ConfigError

VALID_DAYS = 825  # the longest validity clients accept for a TLS server certificate
RENEW_DAYS = 7
SUBJECT = "voicecli-local"
SAN = ("DNS:localhost", "IP:127.0.0.1", "IP:::1")


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            reason = ("not a PEM certificate and its private key" if isinstance(exc, ssl.SSLError)
                      else exc.strerror)
            raise ConfigError(f"cannot use TLS certificate {self.cert} with key {self.key}: "
                              f"{reason}") from None
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


def default_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "voicecli" / "tls"


def self_signed(directory: Path | None = None, maker: str = "auto") -> TlsFiles:
    """The self-signed pair in `directory`, made (or renewed near expiry) when needed.

    `maker`: "cryptography", "openssl", or "auto" (the first available).
    """
    directory = directory or default_dir()
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    if files.cert.exists() and files.key.exists() and not _expiring(files.cert):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    files.key.unlink(missing_ok=True)
    if _maker(maker) == "cryptography":
        _make_with_cryptography(files)
    else:
        _make_with_openssl(files)
    os.chmod(files.key, 0o600)
    return files


def _maker(maker: str) -> str:
    if maker == "auto":
        try:
            import cryptography  # noqa: F401

            return "cryptography"
        except ImportError:
            maker = "openssl"
    if maker == "openssl" and shutil.which("openssl") is None:
        raise ConfigError("serving TLS needs a certificate: install the `cryptography` package "
                          "or the `openssl` tool, or pass --tls-cert and --tls-key")
    return maker


def _expiring(cert: Path) -> bool:
    """True when the certificate made here ends within RENEW_DAYS (judged by its file's age)."""
    age_s = time.time() - cert.stat().st_mtime
    return age_s > (VALID_DAYS - RENEW_DAYS) * 86400


def _make_with_openssl(files: TlsFiles) -> None:
    from voicecli.tools.environment import subprocess_env

    command = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", str(VALID_DAYS), "-subj", f"/CN={SUBJECT}",
        "-addext", "subjectAltName=" + ",".join(SAN),
        "-keyout", str(files.key), "-out", str(files.cert),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False,  # noqa: S603
                          env=subprocess_env(("OPENSSL_CONF",)))  # no key of the server's
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ConfigError(f"openssl could not make a certificate: {last}")


def _make_with_cryptography(files: TlsFiles) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT)])
    now = datetime.datetime.now(datetime.UTC)
    alt = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(alt, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with os.fdopen(os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(pem)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
