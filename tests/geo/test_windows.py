"""Tiling geometry: pure functions, checked exhaustively on small cases."""
import itertools

import numpy as np
import pytest

from sr4rs.geo.windows import Window, pad_widths, scaled_geotransform, tile_grid


@pytest.mark.parametrize("width,height,size,margin", [(203, 157, 8, 4), (5, 3, 16, 8), (64, 64, 64, 0),
                                                      (1, 1, 4, 2), (130, 7, 32, 16)])
def test_cores_cover_the_image_exactly_once(width, height, size, margin):
    cover = np.zeros((height, width), int)
    for tile in tile_grid(width, height, size, margin):
        cover[tile.core.slices()] += 1
        assert tile.read.width == tile.read.height == size + 2 * margin
        assert tile.read.col_off == tile.core.col_off - margin
        assert tile.read.row_off == tile.core.row_off - margin
    assert (cover == 1).all()


def test_pad_widths_complete_the_clipped_read():
    for col, row, w, h in itertools.product((-5, 0, 3), (-2, 0, 4), (6, 20), (6, 20)):
        read = Window(col, row, w, h)
        inner = read.clip(10, 8)
        (top, bottom), (left, right) = pad_widths(read, 10, 8)
        assert min(top, bottom, left, right) >= 0
        assert inner.height + top + bottom == h and inner.width + left + right == w


def test_output_geotransform_keeps_origin_and_divides_pixel_size():
    gt = (748845.0, 30.0, 0.0, -2784495.0, 0.0, -30.0)
    assert scaled_geotransform(gt, 4, finer=True) == (748845.0, 7.5, 0.0, -2784495.0, 0.0, -7.5)
    assert scaled_geotransform(gt, 4, finer=False) == (748845.0, 120.0, 0.0, -2784495.0, 0.0, -120.0)
    assert scaled_geotransform(None, 4, finer=True) is None


def test_bad_tile_size_is_refused():
    with pytest.raises(ValueError, match="size=0"):
        list(tile_grid(10, 10, 0, 0))


def test_nesting_shift_moves_a_grid_registered_on_pixel_centres_onto_the_fine_grid():
    """Landsat: the 15 m pan grid lies half a pan pixel (7.5 m) off the 30 m grid; Sentinel-2's grids nest."""
    from sr4rs.geo.pairs import Grid, nesting_shift

    ms = Grid(128, 128, (465675.0, 30.0, 0.0, 3394395.0, 0.0, -30.0))
    pan = Grid(256, 256, (465667.5, 15.0, 0.0, 3394402.5, 0.0, -15.0))
    assert nesting_shift(ms, pan) == (-7.5, 7.5)
    s2_20m = Grid(64, 50, (443700.0, 20.0, 0.0, 4170420.0, 0.0, -20.0))
    s2_10m = Grid(127, 99, (443700.0, 10.0, 0.0, 4170420.0, 0.0, -10.0))
    assert nesting_shift(s2_20m, s2_10m) == (0.0, 0.0)
    whole_pixels_off = Grid(64, 50, (443720.0, 20.0, 0.0, 4170400.0, 0.0, -20.0))
    assert nesting_shift(whole_pixels_off, s2_10m) == (0.0, 0.0)


def test_nesting_shift_leaves_other_fractions_to_the_alignment_check():
    from sr4rs.geo.pairs import Grid, nesting_shift

    pan = Grid(256, 256, (465667.5, 15.0, 0.0, 3394402.5, 0.0, -15.0))
    misregistered = Grid(128, 128, (465673.0, 30.0, 0.0, 3394395.0, 0.0, -30.0))  # 0.37 fine pixel off
    assert nesting_shift(misregistered, pan) == (0.0, 0.0)
