"""The address the Apps Script sidebar opens (Code.gs ``cobroPage_``), computed by running the script itself."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sidebar_src(url: str, token: str, view: str = "") -> str:
    """Run ``cobroReconcile``/``cobroOpen`` of Code.gs under Node's stand-ins and return the iframe's address."""
    node = shutil.which("node")
    assert node is not None
    fn = "cobroReconcile" if view == "reconcile" else "cobroOpen"
    script = (
        "import { makeContext, plain } from './tests/js/gas_standins.mjs';"
        f"const c = makeContext({{ props: {{ COBRO_URL: {json.dumps(url)}, COBRO_TOKEN: {json.dumps(token)} }} }});"
        f"process.stdout.write(JSON.stringify(plain(c.context.{fn}())));")
    out = subprocess.run([node, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return json.loads(out)
