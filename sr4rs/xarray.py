"""Super-resolution of xarray DataArrays (``pip install sr4rs[xarray]``): ``superresolve(da, model=...)`` on an
array as odc-stac, stackstac or rioxarray load it; lazy on Dask-backed arrays. See
``sr4rs.integrations.xarray``."""
from .integrations.xarray import superresolve

__all__ = ["superresolve"]
