"""``cobro addin build|install|certs``: the Excel add-ins.

- ``build``: ``cobro_excel.xlam`` (desktop Excel with open-source xlwings, from xlwings' ribbon add-in template)
  and the Office add-in's manifest (``cobro-manifest.xml``) for the HTTPS address the service is reached by.
- ``install``: copy ``cobro_excel.xlam`` where Excel loads add-ins at start (Windows/Mac), as xlwings does.
- ``certs``: a local development CA and a ``localhost`` certificate for ``cobro serve --tls-cert/--tls-key``
  (made offline with ``cryptography``; the CA is what Excel's machine must trust).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import sys
from pathlib import Path

import click

from cobro.errors import UserError


@click.group("addin")
def addin_cmd() -> None:
    """The Excel add-ins: build them, install the desktop one, make local HTTPS certificates.

    \b
    Example:  cobro addin build --out dist --url https://localhost:8750
              cobro addin install dist/cobro_excel.xlam
              cobro addin certs --dir certs
              cobro serve --ledger cobranza.xlsx --tls-cert certs/localhost.crt --tls-key certs/localhost.key
    """


@addin_cmd.command("build")
@click.option("--out", "out", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder to write cobro_excel.xlam and cobro-manifest.xml into.")
@click.option("--url", default="https://localhost:8750", show_default=True,
              help="The service's HTTPS address, written into the Office add-in's manifest.")
@click.option("--locale", type=click.Choice(["es", "en"]), default="es", show_default=True,
              help="Language of the desktop add-in's ribbon.")
@click.option("--interpreter", default="", help="Python that Excel runs (default: this one on Windows/Mac; "
                                                "else the one on Excel's PATH).")
def build_cmd(out: str, url: str, locale: str, interpreter: str) -> None:
    """Write cobro_excel.xlam (desktop Excel, xlwings) and cobro-manifest.xml (Office add-in).

    cobro_excel.xlam is xlwings' own ribbon add-in template with a Cobro tab (Send reminders), its
    configuration sheet pointing at the module cobro_excel (cell functions COBRO_AGING, COBRO_KPIS,
    COBRO_WORKLIST) and its VBA project unchanged. Its name must stay cobro_excel.xlam: the button runs
    `import cobro_excel; cobro_excel.main()` after the file's name.

    \b
    Example:  cobro addin build --out dist --url https://cobro.example.com
    """
    from addin.officejs.routes import manifest_text
    from addin.xlwings.build import build_xlam
    from sync.fileio import atomic_write

    folder = Path(out)
    try:
        manifest = manifest_text(url)
    except ValueError as e:
        raise UserError(str(e), column="--url") from None
    win = interpreter or (sys.executable if sys.platform.startswith("win") else "")
    mac = interpreter or (sys.executable if sys.platform == "darwin" else "")
    xlam = build_xlam(folder, locale=locale, interpreter_win=win, interpreter_mac=mac)
    atomic_write(folder / "cobro-manifest.xml", manifest.encode("utf-8"), mode=0o644)
    click.echo(f"Wrote {xlam} (desktop Excel: `cobro addin install {xlam}`)")
    click.echo(f"Wrote {folder / 'cobro-manifest.xml'} (Office add-in for {url.rstrip('/')}: sideload it in Excel)")


@addin_cmd.command("install")
@click.argument("xlam", type=click.Path(exists=True, dir_okay=False), default="cobro_excel.xlam")
@click.option("--dest", type=click.Path(file_okay=False), default=None,
              help="Folder to copy into (default: Excel's startup folder XLSTART on Windows/Mac).")
def install_cmd(xlam: str, dest: str | None) -> None:
    """Copy cobro_excel.xlam where Excel loads add-ins at start (as `xlwings addin install` does).

    Excel must be restarted. On a Mac, xlwings also needs `xlwings runpython install` once.

    \b
    Example:  cobro addin install dist/cobro_excel.xlam
    """
    from addin.xlwings.build import ADDIN_NAME, install_dir

    src = Path(xlam)
    if src.name != ADDIN_NAME:
        raise UserError(f"{src}: expected {ADDIN_NAME} (build it with `cobro addin build`)")
    target = Path(dest) if dest else install_dir()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target / ADDIN_NAME)
    click.echo(f"Installed {target / ADDIN_NAME}; restart Excel: the Cobro tab appears.")
    if sys.platform == "darwin" and not dest:
        click.echo("On a Mac, run once: xlwings runpython install")


@addin_cmd.command("certs")
@click.option("--dir", "folder", type=click.Path(file_okay=False), default=None,
              help="Where to write them (default: cobro's data folder, certs/).")
@click.option("--days", type=click.IntRange(1, 825), default=365, show_default=True,
              help="Validity of the localhost certificate.")
@click.option("--host", "hosts", multiple=True, help="Extra names for the certificate (besides localhost, "
                                                      "127.0.0.1, ::1).")
def certs_cmd(folder: str | None, days: int, hosts: tuple[str, ...]) -> None:
    """Make a local development CA and a certificate for localhost signed by it (offline).

    Trust the CA once on the machine that runs Excel, then serve over HTTPS:

    \b
      Windows:  certutil -user -addstore Root ca.crt
      Mac:      security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db ca.crt
      Linux:    cp ca.crt /usr/local/share/ca-certificates/cobro-dev-ca.crt && update-ca-certificates
      cobro serve --ledger cobranza.xlsx --tls-cert DIR/localhost.crt --tls-key DIR/localhost.key
    """
    from sync.tokens import data_dir

    target = Path(folder) if folder else data_dir() / "certs"
    paths = make_dev_certs(target, days=days, extra_hosts=list(hosts))
    for name, path in paths.items():
        click.echo(f"{name}: {path}")
    click.echo("Trust ca.crt on the machine that runs Excel (see --help), then: cobro serve --ledger LEDGER "
               f"--tls-cert {paths['certificate']} --tls-key {paths['key']}")


def make_dev_certs(folder: Path, *, days: int = 365, extra_hosts: list[str] | None = None,
                   now: dt.datetime | None = None) -> dict[str, Path]:
    """Write ``ca.crt``/``ca.key`` (a CA for local development) and ``localhost.crt``/``localhost.key`` signed by
    it, for localhost, 127.0.0.1, ::1 and ``extra_hosts``. Keys are readable by their owner only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from sync.fileio import atomic_write, write_private

    folder.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cobro local development CA"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cobro (development only)")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=days + 30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.IPAddress(ipaddress.ip_address("::1"))]
    for h in extra_hosts or []:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    plain = serialization.NoEncryption()
    out = {"ca": folder / "ca.crt", "ca_key": folder / "ca.key", "certificate": folder / "localhost.crt",
           "key": folder / "localhost.key"}
    atomic_write(out["ca"], ca.public_bytes(pem), mode=0o644)
    write_private(out["ca_key"], ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, plain))
    atomic_write(out["certificate"], cert.public_bytes(pem) + ca.public_bytes(pem), mode=0o644)  # the chain
    write_private(out["key"], key.private_bytes(pem, serialization.PrivateFormat.PKCS8, plain))
    return out
