"""Raster and vector I/O: the raster source/sink interfaces and their GDAL implementations, files
written whole or not at all, patches images, pictures. The only package that imports GDAL."""
