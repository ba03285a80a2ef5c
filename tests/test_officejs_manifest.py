"""The Office add-in's manifest, checked offline (Microsoft's validator needs the network): it parses; every resid
is defined and every resource used; every URL is https; each ExecuteFunction has its Office.actions.associate in
the runtime's scripts; ids are unique; icons exist in the sizes named. functions.json is regenerated from the JSDoc
with Microsoft's custom-functions-metadata and compared. The service serves every file the manifest names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
ADDIN = ROOT / "addin" / "officejs"
STATIC = ADDIN / "static"
NODE = shutil.which("node")
NS = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1",
      "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
      "ov": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = f"{{{NS['xsi']}}}type"


@pytest.fixture(scope="module")
def manifest() -> ET.Element:
    return ET.parse(ADDIN / "manifest.xml").getroot()


def _resources(root: ET.Element) -> dict[str, ET.Element]:
    res = root.find(".//ov:Resources", NS)
    assert res is not None
    out: dict[str, ET.Element] = {}
    for el in res.iter():
        rid = el.get("id")
        if rid is not None and el.tag.startswith(f"{{{NS['bt']}}}"):
            assert rid not in out, f"resource id {rid} defined twice"
            out[rid] = el
    return out


def test_the_manifest_parses_and_every_resid_is_defined_and_used(manifest: ET.Element) -> None:
    defined = _resources(manifest)
    used = {el.get("resid") for el in manifest.iter() if el.get("resid") is not None}
    assert used - set(defined) == set(), "resid used but not defined"
    assert set(defined) - used == set(), "resource defined but never used"
    # Strings in both languages: every short/long string a person sees has a Spanish override.
    for rid, el in defined.items():
        if el.tag == f"{{{NS['bt']}}}String" and rid != "Functions.Namespace":
            assert el.find("bt:Override[@Locale='es-ES']", NS) is not None, rid


def test_every_url_is_https_and_ids_are_unique(manifest: ET.Element) -> None:
    urls = [v for el in manifest.iter() for k, v in el.attrib.items() if k in ("DefaultValue", "Value")
            and re.match(r"\w+://", v)]
    urls += [el.text.strip() for el in manifest.iter() if el.text and re.match(r"\s*\w+://", el.text)]
    assert urls and all(u.startswith("https://") for u in urls), [u for u in urls if not u.startswith("https://")]
    ids = [el.get("id") for el in manifest.iter() if el.get("id") and not el.tag.startswith(f"{{{NS['bt']}}}")]
    assert len(ids) == len(set(ids)), ids
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                        manifest.findtext("o:Id", namespaces=NS) or "")


def test_the_ribbon_has_the_cobro_tab_and_each_execute_function_is_associated(manifest: ET.Element) -> None:
    tab = manifest.find(".//ov:CustomTab", NS)
    assert tab is not None
    controls = {c.get("id"): c for c in tab.iter(f"{{{NS['ov']}}}Control")}
    assert list(controls) == ["Cobro.Send", "Cobro.Preview", "Cobro.Reconcile", "Cobro.Open"]
    labels = {r: e.get("DefaultValue") for r, e in _resources(manifest).items()}
    assert labels[tab.find("ov:Label", NS).get("resid")] == "Cobro"  # type: ignore[union-attr]
    assert labels[controls["Cobro.Send"].find("ov:Label", NS).get("resid")] == "Send reminders"  # type: ignore[union-attr]
    scripts = "\n".join(p.read_text("utf-8") for p in (STATIC / "js").glob("*.js"))
    functions = [a.findtext("ov:FunctionName", namespaces=NS) for a in tab.iter(f"{{{NS['ov']}}}Action")
                 if a.get(XSI_TYPE) == "ExecuteFunction"]
    assert functions == ["sendReminders", "previewReminders"]
    for name in functions:
        assert re.search(rf'Office\.actions\.associate\("{name}"', scripts), name
    panes = [a for a in tab.iter(f"{{{NS['ov']}}}Action") if a.get(XSI_TYPE) == "ShowTaskpane"]
    assert {a.findtext("ov:TaskpaneId", namespaces=NS) for a in panes} == {"Cobro.Taskpane"}
    # Icons in the sizes Office asks for, and the files exist at those sizes.
    for img in _resources(manifest).values():
        if img.tag == f"{{{NS['bt']}}}Image":
            size = int(re.search(r"icon-(\d+)\.png", img.get("DefaultValue", "")).group(1))  # type: ignore[union-attr]
            assert Image.open(STATIC / "icons" / f"icon-{size}.png").size == (size, size)
    for tag in ("IconUrl", "HighResolutionIconUrl"):
        url = manifest.find(f"o:{tag}", NS).get("DefaultValue")  # type: ignore[union-attr]
        size = int(re.search(r"icon-(\d+)\.png", url).group(1))  # type: ignore[union-attr]
        assert size == (32 if tag == "IconUrl" else 64)
        assert Image.open(STATIC / "icons" / f"icon-{size}.png").size == (size, size)


def test_custom_functions_are_declared_and_registered(manifest: ET.Element) -> None:
    ext = [e for e in manifest.iter(f"{{{NS['ov']}}}ExtensionPoint") if e.get(XSI_TYPE) == "CustomFunctions"]
    assert len(ext) == 1
    ns_res = ext[0].find("ov:Namespace", NS).get("resid")  # type: ignore[union-attr]
    assert _resources(manifest)[ns_res].get("DefaultValue") == "COBRO"
    meta = json.loads((STATIC / "functions.json").read_text("utf-8"))
    ids = [f["id"] for f in meta["functions"]]
    assert ids == ["AGING", "KPIS", "WORKLIST", "NEXTACTION", "FORECAST"]
    source = (STATIC / "js" / "functions.js").read_text("utf-8")
    for fid in ids:
        assert re.search(rf'CustomFunctions\.associate\("{fid}"', source), fid
    assert all(f["result"].get("dimensionality") == "matrix" for f in meta["functions"])  # spilled tables


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed (the README's ./run test installs it)")
@pytest.mark.skipif(not (ROOT / "node_modules" / "custom-functions-metadata").is_dir(),
                    reason="npm packages missing: run `npm install` in the checkout")
def test_functions_json_is_what_custom_functions_metadata_generates(tmp_path: Path) -> None:
    out = tmp_path / "functions.json"
    cli = ROOT / "node_modules" / "custom-functions-metadata" / "lib" / "cli.js"
    proc = subprocess.run([NODE, str(cli), "generate", str(STATIC / "js" / "functions.js"), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and out.exists(), proc.stdout + proc.stderr
    assert json.loads(out.read_text("utf-8")) == json.loads((STATIC / "functions.json").read_text("utf-8")), \
        "functions.json is stale: regenerate it with npx custom-functions-metadata generate " \
        "addin/officejs/static/js/functions.js addin/officejs/static/functions.json"


def test_the_service_serves_every_file_the_manifest_names(manifest: ET.Element, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from server import create_app
    from sync.tokens import TokenStore

    monkeypatch.setenv("COBRO_HOME", str(tmp_path / "home"))
    app = create_app({}, token_store=TokenStore(tmp_path / "home"), allowed_hosts=["cobro.example.com"])
    app.config["COBRO_PAGE_WARM"] = False
    client = app.test_client()
    urls = {v for el in manifest.iter() for k, v in el.attrib.items() if k == "DefaultValue"
            and v.startswith("https://localhost:8750/")}
    urls |= {el.text.strip() for el in manifest.iter() if el.text and el.text.strip().startswith("https://localhost")}
    for url in sorted(urls):
        path = url.removeprefix("https://localhost:8750").split("#")[0] or "/"
        if path in ("", "/") or path.startswith("/?"):
            path = "/" + path.lstrip("/")
        r = client.get(path, base_url="https://localhost:8750")
        assert r.status_code == 200, (url, r.status_code)
    # office.js comes from npm's package, served here (no CDN).
    if (ROOT / "node_modules" / "@microsoft" / "office-js" / "dist" / "office.js").exists():
        assert client.get("/addin/office/office.js").status_code == 200
    # The manifest the service hands out names the address it was reached by (a team's HTTPS name).
    r = client.get("/addin/manifest.xml", base_url="https://cobro.example.com")
    assert r.status_code == 200 and b"https://localhost:8750" not in r.data
    assert b"https://cobro.example.com/addin/runtime.html" in r.data
    ET.fromstring(r.data)
    monkeypatch.setenv("COBRO_ADDIN_URL", "https://cobranza.example.org")  # behind a TLS reverse proxy
    assert b"https://cobranza.example.org/?host=excel" in client.get("/addin/manifest.xml").data
    # Runtime pages load no script from elsewhere and keep a strict CSP.
    r = client.get("/addin/runtime.html")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert not re.search(rb'src="https?://', r.data)
    assert client.get("/addin/../server.py").status_code == 404


def test_cobro_serve_over_https_with_the_dev_certificates(tmp_path: Path) -> None:
    """`cobro addin certs` + `cobro serve --tls-cert/--tls-key`: a client that trusts only the dev CA reaches the
    service over HTTPS, and the manifest it hands out names that HTTPS address."""
    import os
    import ssl
    import sys
    import time
    import urllib.request

    from cobro_cli.addin import make_dev_certs
    from tests.test_officejs import demo_ledger

    COBRO = [sys.executable, "-c", "import sys; from cobro_cli import main; main()"]  # noqa: N806
    certs = make_dev_certs(tmp_path / "certs")
    ledger = demo_ledger(tmp_path / "cobranza.xlsx", invoices=30, customers=4)
    env = {**os.environ, "COBRO_HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = subprocess.Popen(COBRO + ["serve", "--ledger", str(ledger), "--port", "0",
                             "--tls-cert", str(certs["certificate"]), "--tls-key", str(certs["key"])],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not url:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            m = re.search(r"at (https://\S+)", line)
            url = m.group(1).rstrip("/") if m else ""
            assert line or proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
        assert url.startswith("https://127.0.0.1:"), url
        trust = ssl.create_default_context(cafile=str(certs["ca"]))
        with urllib.request.urlopen(f"{url}/health", context=trust, timeout=30) as r:
            assert json.loads(r.read())["status"] == "ok"
        with urllib.request.urlopen(f"{url}/addin/manifest.xml", context=trust, timeout=30) as r:
            assert f"{url}/addin/runtime.html".encode() in r.read()
        # A client that does not trust the dev CA is refused by TLS itself.
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"{url}/health", context=ssl.create_default_context(), timeout=30)
    finally:
        proc.terminate()
        proc.wait(30)
    r = subprocess.run(COBRO + ["serve", "--ledger", str(ledger), "--port", "0",
                        "--tls-cert", str(certs["certificate"])], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "--tls-key" in r.stderr and "Traceback" not in r.stderr
