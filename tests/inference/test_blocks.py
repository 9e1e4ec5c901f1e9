"""A scene's run cut into blocks of whole batches, computed apart and copied back: bit-identical to one run."""
import numpy as np
import pytest

from conftest import LANDSAT
from sr4rs.api import ApplyOptions, GdalSource, MemorySink, MemorySource, load_model, plan_apply
from sr4rs.geo.windows import Window
from sr4rs.inference.blocks import copy_blocks, plan_blocks, tile_parts
from sr4rs.inference.engine import run_apply


def _plan(model, **kw):
    with GdalSource(LANDSAT) as source:
        return plan_apply([source.info], model, ApplyOptions(**kw))


def test_blocks_cover_every_tile_once_in_whole_batches(x4_model):
    plan = _plan(load_model(x4_model), tile_size=64, batch_size=3)
    assert (plan.out_width, plan.out_height) == (812, 628)  # 13 x 10 tiles
    blocks = plan_blocks(plan, 20)
    assert [b.end_batch - b.first_batch for b in blocks[:-1]] == [6] * (len(blocks) - 1)  # 18 tiles: whole batches
    covered = np.zeros((628, 812), int)
    for block in blocks:
        assert 1 <= len(block.parts) <= 3
        for part in block.parts:
            covered[part.slices()] += 1
            assert block.window.col_off == 0 and block.window.width == 812
            assert block.window.row_off <= part.row_off and \
                part.row_off + part.height <= block.window.row_off + block.window.height
    assert (covered == 1).all()
    assert sum(b.work for b in blocks) == 203 * 157
    assert len(plan_blocks(plan, None)) == 1 and len(plan_blocks(plan, 10_000)) == 1


def test_tile_parts_of_a_run_across_rows(x4_model):
    plan = _plan(load_model(x4_model), tile_size=64)
    # tiles 11..40 of 13 per row: the end of row 0, rows 1 and 2, the start of row 3
    assert tile_parts(plan, 11, 41) == (Window(704, 0, 108, 64), Window(0, 64, 812, 128), Window(0, 192, 128, 64))
    assert tile_parts(plan, 13, 39) == (Window(0, 64, 812, 128),)


@pytest.mark.parametrize("encoding", ["auto", "float32"])
def test_blocks_copied_back_equal_a_whole_run_bit_for_bit(x4_model, encoding):
    model = load_model(x4_model)
    options = ApplyOptions(tile_size=64, batch_size=4, nodata=0, encoding=encoding)
    sinks = []

    def sink(spec):
        sinks.append(MemorySink(spec))
        return sinks[-1]

    with GdalSource(LANDSAT) as source:
        plan = plan_apply([source.info], model, options)
        run_apply(source, model, sink, options, plan=plan)
        whole_sink = sinks.pop()
        whole = whole_sink.array
        blocks = plan_blocks(plan, 24)
        assert len(blocks) > 3
        for block in blocks:
            report = run_apply(source, model, sink, options, plan=plan, block=block)
            assert (report.width, report.height) == (block.window.width, block.window.height)
    parts = [MemorySource(s.array) for s in sinks]
    out = MemorySink(whole_sink.spec)
    copy_blocks(plan, blocks, parts, out)
    out.commit()
    assert out.array.dtype == whole.dtype
    np.testing.assert_array_equal(out.array, whole)
