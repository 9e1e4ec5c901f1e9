"""The public API: what the command line, QGIS, OTB pipelines and the DEEPaaS service call.

Every long job takes a ``progress`` callback (called with units of work done; the total is known
beforehand: ``plan.work`` or the input's pixels) and a ``CancelToken``: cancelled, the job raises
``Cancelled`` within one batch and leaves nothing behind. Integrations import this module only, and
``sr4rs.scenes`` (built on it) for the steps a scheduler runs over many scenes and blocks of scenes.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple, Union

from .data.extraction import extract, extract_patches, plan_extraction
from .data.fusion import extract_set, plan_fusion_extraction
from .data.shards import DEFAULT_SHARD_SIZE, shard_patches
from .data.scenes import extract_scenes, plan_scenes, scene_report_line
from .errors import BackendError, Cancelled, InputError, ModelError, OutputError, Sr4rsError, TrainingError
from .evaluation.plan import DEFAULT_BORDER, check_inputs as check_evaluation_inputs, plan_evaluation
from .evaluation.reports import format_table
from .evaluation.fusion import plan_fusion_evaluation
from .evaluation.run import check_out_dir, evaluate, run_evaluation
from .evaluation.scenes import (check_scene_reports, format_summary, plan_scene_evaluation, scene_rows, select_scenes,
                                 write_scene_reports)
from .geo.dtypes import ENCODING_CHOICES
from .inference.engine import ApplyReport, run_apply
from .inference.plan import ApplyOptions, ApplyPlan, check_grids, check_options, check_tiling, plan_apply
from .io import catalog
from .io.drivers import DRIVERS, gdal_summary
from .io.extended import writer_name
from .io.files import StagedFile
from .io.geotiff import GeoTiffSink
from .io.images import write_quicklook
from .io.products import check_bands, is_product, nest, open_product, resolve as resolve_bands
from .io.sensors import Sensor, match_bands, sensors
from .io.scenes import read_scene_lists
from .io.paths import Read, Target, check_writes, png_file, raster_reads, raster_with_metadata
from .io.rasters import GdalSource, parse_creation_options, read_info
from .geo.windows import Window
from .io.source import MemorySink, MemorySource, RasterInfo
from .model.bands import put_in_order
from .model.bundled import bundled_model_path, bundled_models, default_model_name, default_note, resolve_model
from .model.contract import InputSpec, ModelMetadata, read_metadata
from .model.load import LoadedModel, SessionModel, check_model_dir, import_tensorflow_quietly, tensorflow_summary
from .model.runtime import BACKENDS, PRECISIONS, RUNTIMES, Runtime, check_choice as check_runtime, load_runtime
from .nets import NETWORKS
from .nets.vgg import FEATURES as VGG_FEATURES
from .progress import CancelToken, Progress
from .training.config import DEGRADATIONS, LOSS_TYPES, PRECISIONS as TRAIN_PRECISIONS, SCHEDULES, TrainConfig
from .training.distribute import STRATEGIES
from .training.loop import StepCallback, TrainResult

# The public face: what the command line, the integrations and sr4rs.scenes use, what the top-level ``sr4rs`` offers,
# and what README.md and docs/ show. tests/test_api_surface.py checks that each name is used, and that they use no other.
__all__ = [
    # errors, progress and cancelling
    "BackendError", "Cancelled", "CancelToken", "InputError", "ModelError", "OutputError", "Progress", "Sr4rsError",
    "TrainingError",
    # models: bundled ones, loading, runtimes, ONNX export
    "BACKENDS", "LoadedModel", "ModelMetadata", "RUNTIMES", "TRAIN_PRECISIONS", "Runtime", "SessionModel",
    "bundled_model_path", "check_runtime", "choose_model", "describe_model", "export_onnx", "import_tensorflow_quietly",
    "list_model_names", "list_models", "load_model",
    # inputs: products, sensors, bands
    "is_product", "list_sensors", "match_bands", "open_groups", "open_inputs", "order_inputs", "read_info",
    # apply: files, all the bands of a product, opened sources (what sr4rs.xarray builds on)
    "ApplyOptions", "ApplyReport", "ENCODING_CHOICES", "MemorySink", "MemorySource", "RasterInfo", "Window", "apply",
    "apply_all_bands", "apply_sources", "check_all_bands", "check_apply", "input_pixels", "parse_creation_options",
    "plan_sources", "super_resolve", "write_output_item",
    # training sets: patches, fusion sets, many scenes, shards
    "DEFAULT_SHARD_SIZE", "extract", "extract_patches", "extract_scenes", "extract_set", "plan_extraction",
    "plan_fusion_extraction", "plan_scenes", "read_scene_lists", "scene_report_line", "shard_patches",
    # training
    "DEGRADATIONS", "LOSS_TYPES", "NETWORKS", "PRECISIONS", "SCHEDULES", "STRATEGIES", "TrainConfig", "VGG_FEATURES",
    "check_train", "train",
    # evaluation
    "DEFAULT_BORDER", "check_evaluation_inputs", "check_out_dir", "check_scene_reports", "evaluate", "format_summary",
    "format_table", "plan_evaluation", "plan_fusion_evaluation", "plan_scene_evaluation", "run_evaluation",
    "scene_rows", "select_scenes", "write_scene_reports",
    # what this installation can do (sr4rs doctor)
    "DRIVERS", "gdal_summary", "tensorflow_summary",
]


@dataclass(frozen=True)
class ModelInfo:
    """A bundled model as ``sr4rs models`` lists it."""

    name: str
    path: str
    scale: int
    inputs: Tuple[InputSpec, ...]
    output_bands: Tuple[str, ...]
    description: str


def list_sensors() -> List[Sensor]:
    """The sensors whose products sr4rs reads: shipped ones, and those of the folders in SR4RS_SENSORS."""
    return list(sensors().values())


def describe_model(path: str, name: Optional[str] = None) -> ModelInfo:
    """A SavedModel folder as ``sr4rs models`` lists it, from its metadata file (no TensorFlow)."""
    check_model_dir(path)
    meta = read_metadata(path)
    return ModelInfo(name or os.path.basename(os.path.normpath(path)), path, meta.scale, meta.inputs,
                     meta.output_bands, meta.description)


def list_models() -> List[ModelInfo]:
    """The models bundled with sr4rs, by name (``--model NAME`` picks one)."""
    return [describe_model(path, name) for name, path in bundled_models().items()]


def list_model_names() -> List[str]:
    """The names of the bundled models (no metadata read)."""
    return list(bundled_models())


def load_model(model: Optional[str] = None, scale: Optional[int] = None, nbands: Optional[int] = None,
               backend: str = "native", precision: Optional[str] = None) -> Runtime:
    """Load a bundled model by name, or a SavedModel folder; None: the bundled model for ``nbands`` bands.
    Only the model named here (or a bundled one) is loaded: a SavedModel is a program.

    Args:
        backend: the runtime (``sr4rs.model.runtime.RUNTIMES``): ``native`` (TensorFlow), ``onnxruntime`` or
            ``openvino``; one whose package is missing falls back to ``native`` with one warning line.
        precision: ``auto`` (default, or ``SR4RS_PRECISION``): the fastest precision that keeps quality where
            this machine has it (bfloat16 on CPUs with AVX512_BF16 or AMX, else float32); ``float32``,
            ``bfloat16`` or ``int8`` (where the runtime offers it). ``native`` in ``float32`` runs the
            SavedModel exactly as it is.
    """
    return load_runtime(resolve_model(model, nbands), backend, precision, scale=scale)


def describe_for_planning(model: Optional[str] = None, nbands: Optional[int] = None) -> Runtime:
    """A model as ``plan_apply`` and ``plan_scene`` take it, read from its metadata without TensorFlow: a scheduler
    plans scenes once, and only the machines that compute load the model."""
    from .model.load import model_spec

    return model_spec(resolve_model(model, nbands))


def export_onnx(model: Optional[str], output: str, overwrite: bool = False, opset: Optional[int] = None) -> str:
    """Write a bundled model (by name) or a SavedModel folder as an ONNX file with the same inputs and
    ``output_{pad}`` outputs, its metadata (bands, factor, scales, margin) in the file's metadata. Needs the
    ``onnx`` extra (tf2onnx). Returns ``output``."""
    from .model.onnx import export_onnx as _export

    path = resolve_model(model)
    check_model_dir(path)
    return _export(path, output, overwrite=overwrite, opset=opset)


def _paths(inputs: Union[str, os.PathLike, Sequence[str]]) -> List[str]:
    if isinstance(inputs, (str, os.PathLike)):
        return [os.fspath(inputs)]
    return [os.fspath(p) for p in inputs]


def input_pixels(inputs: Union[str, Sequence[str]]) -> int:
    """Progress units of ``apply``: pixels of the first (finest) input."""
    info = read_info(_paths(inputs)[0])
    return info.width * info.height


def check_apply_paths(infos: Sequence[RasterInfo], model_path: Union[str, Sequence[str]], output: str,
                      quicklook: Optional[str], overwrite: bool, originals: Sequence[str] = (), item: bool = False) -> None:
    """The output, the quicklook and the STAC item (``item``), checked before any work (``sr4rs.io.paths.check_writes``,
    the check every writer of an image goes through): not an input (nor a file of one, nor inside the model's
    folder or a product), not each other, replaced only when they are an earlier apply output, PNG and item, in a
    folder that exists and takes files."""
    reads = [r for info in infos for r in raster_reads(info.files or (info.path,), "--input")]
    reads += [Read(p.split("#", 1)[0] if "#" in p and not os.path.exists(p) else p, "--input") for p in originals]
    for path in [model_path] if isinstance(model_path, str) else model_path:
        if path and os.path.isdir(path):
            reads.append(Read(path, "--savedmodel"))
    targets = [Target(output, "--output", "output of sr4rs apply", raster_with_metadata("SR4RS_SCALE"))]
    if quicklook:
        targets.append(Target(quicklook, "--quicklook", "PNG quicklook", png_file))
    if item:
        _check_georeferenced(infos[0], "--stac")
        targets.append(Target(catalog.item_path(output), "--stac", "STAC item of sr4rs apply", catalog.is_sr4rs_item))
    check_writes(targets, reads, overwrite)


def _check_georeferenced(info: RasterInfo, flag: str) -> None:
    if info.geotransform is None or not info.projection:
        raise InputError(f"input '{info.path}' has no georeferencing, which a STAC item needs: drop {flag} "
                         "(--no-stac) or give a georeferenced input")


def stac_inputs(inputs: Union[str, Sequence[str]]) -> List[str]:
    """The inputs that are STAC items (what an output's item is ``derived_from``)."""
    from .io.stac import claims

    return [p for p in _paths(inputs) if claims(p)]


def write_output_item(output: str, model: LoadedModel, inputs: Union[str, Sequence[str]] = (),
                      options: ApplyOptions = ApplyOptions(), quicklook: Optional[str] = None) -> Optional[str]:
    """The STAC item of an apply output, beside it, when ``options`` ask for one (``--stac``, or a COG); its path."""
    from . import __version__

    if not options.writes_item:
        return None
    return catalog.write_output_item(output, model.name, model.scale, sources=stac_inputs(inputs), cog=options.cog,
                                     quicklook=quicklook, version=__version__)


def open_inputs(inputs: Union[str, Sequence[str]], bands: Optional[Sequence[str]] = None,
                sensor: Optional[str] = None, metadata: Optional[ModelMetadata] = None, model_name: str = "") -> List[str]:
    """What GDAL reads for each input: a product's bands (``bands``, else the bands of each input of the model
    described by ``metadata``) as a virtual raster, the ``bands`` of one raster, or the raster itself, its bands
    put in the order of the model's input when both name them (see ``order_inputs``)."""
    return order_inputs(inputs, bands, sensor, metadata, model_name)[0]


def order_inputs(inputs: Union[str, Sequence[str]], bands: Optional[Sequence[str]] = None,
                 sensor: Optional[str] = None, metadata: Optional[ModelMetadata] = None,
                 model_name: str = "") -> Tuple[List[str], List[str]]:
    """``open_inputs``, and the lines saying how the bands were put in the model's order. Rasters whose bands are
    named (band descriptions) go into a model that names its bands by those names, in the model's order; names
    that cannot be matched are refused, naming both lists (``bands`` too are put in the model's order)."""
    paths = _paths(inputs)
    product = len(paths) == 1 and (sensor is not None or is_product(paths[0]))
    if bands and metadata is not None and len(metadata.inputs) > 1:
        groups = "; ".join(f"{spec.name}: {', '.join(spec.bands)}" for spec in metadata.inputs)
        raise InputError(f"the model takes {len(metadata.inputs)} inputs and names their bands ({groups}): drop --bands"
                         + ("" if product else " and give one --input per model input, finest first"))
    if bands and len(paths) > 1:
        raise InputError("--bands picks bands of one input: give one --input with it (or a product alone)")
    if product and not bands and metadata is not None:
        check_bands(paths[0], metadata.input_bands, sensor)
        return _nested([resolve_bands(paths[0], spec.bands, sensor) for spec in metadata.inputs]), []
    resolved = [resolve_bands(p, bands, sensor) for p in paths]
    notes: List[str] = []
    if metadata is not None and len(resolved) == len(metadata.inputs):
        ordered = [put_in_order(p, spec.bands, model_name or "the model", label) for p, spec, label
                   in zip(resolved, metadata.inputs, paths if len(paths) == len(resolved) else resolved)]
        resolved = [p for p, _ in ordered]
        notes = [note for _, note in ordered if note]
    return (_nested(resolved) if metadata is not None and len(metadata.inputs) > 1 else resolved), notes


def _nested(groups: List[str]) -> List[str]:
    """Images of several resolutions, finest first, each coarser one on a grid nested in the finest's: one offset
    by a fraction of a fine pixel (products that register pixel centres, such as Landsat's, whose 15 m
    panchromatic grid starts 7.5 m off the 30 m one) is resampled on the fly."""
    return groups[:1] + [nest(g, groups[0]) for g in groups[1:]]


def open_groups(inputs: Union[str, Sequence[str]], bands: Optional[Sequence[str]] = None,
                sensor: Optional[str] = None) -> List[str]:
    """Images of several resolutions, finest first: the ``inputs`` themselves, or the ``bands`` of one product
    grouped by native resolution (each group a virtual raster)."""
    paths = _paths(inputs)
    if len(paths) == 1 and (sensor or is_product(paths[0])):
        if not bands:
            resolve_bands(paths[0], None, sensor)  # says which bands the product has
        product = open_product(paths[0], sensor)
        groups: dict = {}
        for name in bands:
            groups.setdefault(product.sensor.band(name).resolution, []).append(name)
        return _nested([resolve_bands(paths[0], groups[r], sensor) for r in sorted(groups)])
    if bands:
        raise InputError("--bands with several --input: give each image's bands in its file, or one product")
    return _nested(paths)


@dataclass(frozen=True)
class ApplyInputs:
    """The inputs of an apply, resolved and checked: what GDAL reads, their descriptions, the model's folder."""

    paths: Tuple[str, ...]
    infos: Tuple[RasterInfo, ...]
    model_path: str
    notes: Tuple[str, ...] = ()  # the lines saying which model sr4rs chose and how the bands were ordered


def choose_model(inputs: Union[str, Sequence[str]], model: Union[None, str, Runtime] = None,
                 bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """The model's folder for ``inputs`` and, when sr4rs chose it, the line saying which and why: ``model`` (a
    loaded model, a bundled model's name or a folder), else the bundled model whose bands are the input's by
    name (band descriptions, or ``bands``), else the one for its band count. Every command and integration
    (apply, apply-many, evaluate, QGIS, DEEPaaS) chooses here. No TensorFlow."""
    paths = _paths(inputs)
    if isinstance(model, Runtime):
        return model.path, None
    if model is not None:
        return resolve_model(model), None
    if len(paths) > 1:
        return resolve_model(None), None
    # a product needs --bands (or a model naming its bands): resolve_bands says so
    info = read_info(resolve_bands(paths[0], bands, sensor))
    names = tuple(info.descriptions) if info.descriptions and all(info.descriptions) else ()
    name = default_model_name(info.count, names)
    return bundled_model_path(name), default_note(name, names)


def resolve_output(output: str, options: ApplyOptions = ApplyOptions()) -> Tuple[str, ApplyOptions]:
    """The file an output name writes and the options it asks for: an OTB extended filename's
    ``gdal:co:KEY=VALUE`` (``out.tif?&gdal:co:COMPRESS=DEFLATE``) joins the creation options."""
    name = writer_name(output)
    if not name.creation_options:
        return name.path, options
    return name.path, replace(options, creation_options={**options.creation_options, **name.creation_options})


def check_apply(inputs: Union[str, Sequence[str]], output: str, model: Union[None, str, LoadedModel] = None,
                options: ApplyOptions = ApplyOptions(), quicklook: Optional[str] = None,
                bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None) -> ApplyInputs:
    """Everything ``apply`` checks before loading the model (inputs readable, outputs safe, options in
    range). Cheap: no TensorFlow."""
    output, options = resolve_output(output, options)
    originals = _paths(inputs)
    model_path, chosen = choose_model(originals, model, bands, sensor)
    if not isinstance(model, Runtime):
        check_model_dir(model_path)
    metadata = model.metadata if isinstance(model, Runtime) else read_metadata(model_path)
    paths, notes = order_inputs(originals, bands, sensor, metadata, os.path.basename(os.path.normpath(model_path)))
    infos = [read_info(p) for p in paths]
    check_apply_paths(infos, model_path, output, quicklook, options.overwrite, originals, options.writes_item)
    check_options(options)
    check_tiling(metadata, options)
    check_grids(infos, metadata)
    return ApplyInputs(tuple(paths), tuple(infos), model_path, tuple(([chosen] if chosen else []) + notes))


def apply(inputs: Union[str, Sequence[str]], output: str, model: Union[None, str, LoadedModel] = None,
          options: ApplyOptions = ApplyOptions(), *, quicklook: Optional[str] = None, scale: Optional[int] = None,
          bands: Optional[Sequence[str]] = None, sensor: Optional[str] = None, backend: str = "native",
          precision: Optional[str] = None, progress: Optional[Progress] = None,
          cancel: Optional[CancelToken] = None) -> ApplyReport:
    """Super-resolve ``inputs`` (one image per model input, finest first; or one product, whose ``bands``
    default to those the model takes) into the GeoTIFF ``output`` with ``model`` (a bundled model's name,
    a SavedModel folder, a loaded model, or None: the bundled model for the input's band count);
    ``quicklook``: also a PNG of the result. Inputs, outputs and options are checked before the model is
    loaded. Inputs and ``output`` may be OTB extended filenames (``out.tif?&gdal:co:COMPRESS=DEFLATE``).
    ``backend`` and ``precision`` choose the runtime of a model not yet loaded (see ``load_model``)."""
    output, options = resolve_output(output, options)
    check_runtime(backend, precision)
    checked = check_apply(inputs, output, model, options, quicklook, bands, sensor)
    paths, infos = list(checked.paths), list(checked.infos)
    warn_inputs(paths, model.metadata if isinstance(model, Runtime) else read_metadata(checked.model_path),
                checked.model_path, options.nodata)
    if not isinstance(model, Runtime):
        model = load_runtime(checked.model_path, backend, precision, scale=scale)
    if backend == "otbtf":
        from .inference.otbtf import apply_with_otbtf

        apply_with_otbtf(paths[0], model, output, options)
        report = ApplyReport(output, infos[0].width * model.scale, infos[0].height * model.scale, model.scale,
                             0, 0, 0.0, 0.0)
    else:
        report = _apply_native(paths, infos, model, output, options, progress, cancel)
    if quicklook:
        write_quicklook(output, quicklook)
    write_output_item(output, model, inputs, options, quicklook)
    return report


def warn_inputs(paths: Sequence[str], metadata: Optional[ModelMetadata], model_path: str = "",
                nodata: Optional[float] = None) -> Optional[str]:
    """Log one warning (logger ``sr4rs``) when the inputs look unlike the data the model was trained on (the
    statistics its metadata records: digital numbers given to a reflectance model, an offset not removed, another
    sensor); returns the line, or None. Never refuses; models without statistics are not checked."""
    from .model.statistics import input_warning

    name = f"'{os.path.basename(os.path.normpath(model_path))}'" if model_path else "the model"
    line = input_warning(paths, metadata, name, nodata)
    if line:
        logging.getLogger("sr4rs").warning("warning: %s", line)
    return line


def _apply_native(paths, infos, model, output, options, progress, cancel) -> ApplyReport:
    plan = plan_apply(infos, model, options)
    sources = [GdalSource(p) for p in paths]
    try:
        return run_apply(sources, model, lambda spec: GeoTiffSink(output, spec, options.creation_options,
                                                                  cog=options.cog, overwrite=options.overwrite),
                         options, progress=progress, cancel=cancel, plan=plan)
    finally:
        for source in sources:
            source.close()


def plan_sources(infos: Sequence[RasterInfo], model: LoadedModel, options: ApplyOptions = ApplyOptions()) -> ApplyPlan:
    """How ``model`` runs over inputs described by ``infos`` (one per model input, finest first): tiles, margins,
    batches, the output's size and type, checked against the model."""
    return plan_apply(list(infos), model, options)


def apply_sources(sources, model: LoadedModel, make_sink, options: ApplyOptions = ApplyOptions(), *,
                  plan: Optional[ApplyPlan] = None, window: Optional[Window] = None,
                  progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None) -> ApplyReport:
    """The apply engine on opened sources.

    Args:
        sources: one ``RasterSource`` per model input, finest first (``MemorySource``, ``GdalSource``, or any
            object with ``info`` and ``read(window)``).
        model: a loaded model (``load_model``).
        make_sink: called with the output's ``OutputSpec``, returns where it is written (``MemorySink``...).
        plan: from ``plan_sources`` (made here otherwise); window: only the tiles of the plan inside this window
            of output pixels (on tile boundaries), into a sink of its size.

    Returns:
        The ``ApplyReport``; the sink is committed, or aborted if anything fails.
    """
    return run_apply(sources, model, make_sink, options, progress=progress, cancel=cancel, plan=plan, window=window)


def super_resolve(inputs: Union[str, Sequence[str]], model: Union[str, LoadedModel], output: str,
                  options: ApplyOptions = ApplyOptions(), progress: Optional[Progress] = None,
                  cancel: Optional[CancelToken] = None) -> ApplyReport:
    """``apply`` with the arguments in the order of earlier releases (inputs, model, output)."""
    return apply(inputs, output, model, options, progress=progress, cancel=cancel)


def check_train(config: TrainConfig) -> None:
    """Everything ``train`` checks before TensorFlow is involved: flags, paths, patches files."""
    from .training.config import check_config
    from .training.loop import check_data

    check_config(config)
    check_data(config)


def train(config: TrainConfig, on_step: Optional[StepCallback] = None,
          cancel: Optional[CancelToken] = None) -> TrainResult:
    """Train a generator on the patches of ``config`` and export it if ``config.savedmodel``."""
    from .training.loop import train as _train

    return _train(config, on_step, cancel)


@dataclass(frozen=True)
class AllBandsInputs:
    """An ``apply_all_bands`` checked: the product's finest bands (what GDAL reads, their names), each model's
    folder and metadata, the sensor's band order, and the output and quicklook resolved."""

    fine: str
    fine_bands: Tuple[str, ...]
    model_paths: Tuple[str, ...]
    metadata: Tuple[ModelMetadata, ...]
    order: Tuple[str, ...]
    output: str
    options: ApplyOptions


def _fusion_metadata(models: Sequence[Union[str, Runtime]]) -> Tuple[List[str], List[ModelMetadata]]:
    """Each model's folder and metadata (no TensorFlow), all fusion models on one set of fine bands."""
    if not models:
        raise InputError("--all-bands takes fusion models: e.g. --model s2-20m-x2 --model s2-60m-x6")
    paths = [m.path if isinstance(m, Runtime) else resolve_model(m) for m in models]
    for model, path in zip(models, paths):
        if not isinstance(model, Runtime):
            check_model_dir(path)
    metas = [m.metadata if isinstance(m, Runtime) else read_metadata(p) for m, p in zip(models, paths)]
    for path, meta in zip(paths, metas):
        if meta is None or len(meta.inputs) < 2 or meta.inputs[0].factor != 1:
            raise InputError(f"--all-bands takes fusion models (several inputs, the finest on the output's grid), but "
                             f"'{path}' is not one: e.g. --model s2-20m-x2 --model s2-60m-x6")
    if any(m.inputs[0].bands != metas[0].inputs[0].bands for m in metas):
        raise InputError("the models' finest inputs differ: give fusion models made for one set of fine bands")
    return paths, metas


def check_all_bands(product: str, output: str, models: Sequence[Union[str, Runtime]],
                    options: ApplyOptions = ApplyOptions(), quicklook: Optional[str] = None,
                    sensor: Optional[str] = None) -> AllBandsInputs:
    """Everything ``apply_all_bands`` checks before loading a model (no TensorFlow): the product and every
    model's bands in it, the output and the quicklook (as ``apply`` checks its own), the options against every
    model (``--ts`` and ``--pad`` multiples of each one's grid), each model's inputs on their grids."""
    output, options = resolve_output(output, options)
    if not (os.path.isdir(product) or is_product(product) or sensor):
        raise InputError(f"--all-bands takes one product (a .SAFE folder or .zip, a Landsat folder), not '{product}'")
    paths, metas = _fusion_metadata(models)
    order = tuple(b.name for b in open_product(product, sensor).sensor.bands)
    fine_bands = tuple(metas[0].inputs[0].bands)
    fine = resolve_bands(product, fine_bands, sensor)
    groups = [[read_info(p) for p in open_inputs(product, None, sensor, meta)] for meta in metas]
    infos = [info for group in groups for info in group]
    check_apply_paths(infos, paths, output, quicklook, options.overwrite, [product], options.writes_item)
    check_options(options)
    for path, meta, group in zip(paths, metas, groups):
        try:
            check_tiling(meta, options)
            check_grids(group, meta)
        except InputError as err:
            raise InputError(f"model '{os.path.basename(os.path.normpath(path))}': {err}") from None
    return AllBandsInputs(fine, fine_bands, tuple(paths), tuple(metas), order, output, options)


def apply_all_bands(product: str, output: str, models: Sequence[Union[str, Runtime]],
                    options: ApplyOptions = ApplyOptions(), *, quicklook: Optional[str] = None,
                    sensor: Optional[str] = None, backend: str = "native", precision: Optional[str] = None,
                    progress: Optional[Progress] = None, cancel: Optional[CancelToken] = None) -> ApplyReport:
    """Every band of ``product`` at the finest resolution in one GeoTIFF: the finest bands as they are, and the
    bands each fusion model in ``models`` brings to the finest grid (e.g. ``s2-20m-x2`` and ``s2-60m-x6``), in
    the sensor's band order, tagged as an apply output (SR4RS_MODEL, SR4RS_SCALE); ``quicklook``: also a PNG.
    Everything is checked, and every model loaded and planned, before the first runs. Each model's result is
    made beside ``output`` under a temporary name of this run's own, and the whole assembled once all are done."""
    from .io.assemble import assemble_bands

    checked = check_all_bands(product, output, models, options, quicklook, sensor)
    output, options = checked.output, checked.options
    check_runtime(backend, precision)
    loaded = [m if isinstance(m, Runtime) else load_runtime(p, backend, precision)
              for m, p in zip(models, checked.model_paths)]
    for model in loaded:  # every model's plan (tiles, margins, grids) before the first model runs
        plan_apply([read_info(p) for p in open_inputs(product, None, sensor, model.metadata)], model, options)
    parts = [(checked.fine, checked.fine_bands)]
    temporaries = [StagedFile(output, overwrite=True, tag=f"model{i}.partial") for i in range(len(loaded))]
    try:
        for model, tmp in zip(loaded, temporaries):
            apply(product, tmp.tmp, model, replace(options, overwrite=True, stac=False), sensor=sensor,
                  progress=progress, cancel=cancel)
            parts.append((tmp.tmp, model.metadata.output_bands))
        tags = {**read_info(checked.fine).metadata, "SR4RS_MODEL": ",".join(m.name for m in loaded),
                "SR4RS_SCALE": ",".join(str(m.scale) for m in loaded),
                "SR4RS_BANDS": ",".join(b for b in checked.order if any(b in names for _, names in parts))}
        width, height = assemble_bands(parts, checked.order, output, options, tags)
    finally:
        for tmp in temporaries:
            tmp.abort()
    if quicklook:
        write_quicklook(output, quicklook)
    if options.writes_item:
        from . import __version__

        catalog.write_output_item(output, "+".join(m.name for m in loaded), max(m.scale for m in loaded),
                                  sources=stac_inputs(product), cog=options.cog, quicklook=quicklook, version=__version__)
    return ApplyReport(output, width, height, 1, 0, 0, 0.0, 0.0)
