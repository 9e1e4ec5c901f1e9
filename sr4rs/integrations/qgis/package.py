"""Zip the plugin as QGIS installs it (Plugins > Install from ZIP): ``sr4rs_qgis/`` with ``metadata.txt`` at
its root. Usage: ``python -m sr4rs.integrations.qgis.package OUT_DIR`` (writes OUT_DIR/sr4rs_qgis.zip)."""
import os
import sys
import zipfile

PLUGIN = "sr4rs_qgis"
HERE = os.path.dirname(os.path.abspath(__file__))


def build(out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, PLUGIN + ".zip")
    tmp = target + ".partial"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(os.listdir(HERE)):
            if name.endswith((".py", ".txt", ".svg")) and name != "package.py":
                archive.write(os.path.join(HERE, name), f"{PLUGIN}/{name}")
    os.replace(tmp, target)
    return target


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "dist"))
