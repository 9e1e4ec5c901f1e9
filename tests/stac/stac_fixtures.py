"""Shared by the STAC and xarray tests: COGs of the real Sentinel-2 crops, items as Earth Search and Planetary
Computer serve them, the .SAFE of the same product, all served over HTTP on loopback with Range requests."""
import os

import pytest

from http_server import RangeServer
from items import earth_search_item, item_collection, make_cogs, planetary_item, save
from products import make_sentinel2

# Network settings of the tests: a dead server is found out in a second, a flaky one retried at once.
os.environ.setdefault("GDAL_HTTP_TIMEOUT", "5")
os.environ.setdefault("GDAL_HTTP_RETRY_DELAY", "0.05")
os.environ.setdefault("GDAL_HTTP_MAX_RETRY", "3")


@pytest.fixture(scope="session")
def stac(tmp_path_factory):
    """``server``, the .SAFE (``safe``), and items: ``es`` (Earth Search, baseline 05.10: stored values + 1000,
    offset -0.1), ``es_old`` (Earth Search, baseline 02.14: no offset), ``pc`` (Planetary Computer, 05.10),
    ``search`` (a saved search of ``es`` and ``pc``), as URLs; ``folder``: what is served."""
    folder = tmp_path_factory.mktemp("stac")
    served = folder / "served"
    offset, raw = make_cogs(str(served / "cogs-0510"), 1000), make_cogs(str(served / "cogs-0214"), 0)
    safe = make_sentinel2(str(folder), "L2A", "05.10")
    with RangeServer(str(served)) as server:
        es = earth_search_item(offset, server.url("cogs-0510"))
        pc = planetary_item(offset, server.url("cogs-0510"))
        es_old = earth_search_item(raw, server.url("cogs-0214"), "02.14", item_id="S2A_18SVG_20160112_1_L2A")
        for name, data in (("es", es), ("pc", pc), ("es_old", es_old)):
            save(served / f"{name}.json", data)
        save(served / "search.json", item_collection([es, pc]))
        urls = {name: server.url(f"{name}.json") for name in ("es", "pc", "es_old", "search")}
        yield dict(urls, server=server, safe=safe, folder=str(served), items={"es": es, "pc": pc, "es_old": es_old})
