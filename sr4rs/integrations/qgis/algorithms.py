"""The algorithms of the ``sr4rs`` provider. Each declares its parameters (QGIS draws a widget for each:
layers, files, enumerations, numbers with their ranges), turns their values into an sr4rs job, and runs it
in the worker process (``runner``); results come back as the algorithm's outputs, and a super-resolved
raster is loaded as a layer with its georeferencing."""
import os

from qgis.core import (
    QgsProcessing, QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingOutputString,
    QgsProcessingParameterBoolean, QgsProcessingParameterDefinition, QgsProcessingParameterEnum,
    QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
)

from .runner import run_task

ENCODINGS = ["auto", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"]
COMPRESSIONS = ["ZSTD", "DEFLATE", "LZW", "NONE"]
S2_BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"]
SENSORS = ["detect", "sentinel2-l1c", "sentinel2-l2a"]
ARCHS = ["edsr", "sr4rs"]
NODATA_RULES = ["all", "any"]
INT, DOUBLE = QgsProcessingParameterNumber.Integer, QgsProcessingParameterNumber.Double
AUTO_MODEL = "Automatic: the bundled model made for the input's band count"


def _advanced(param):
    param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return param


def _number(name, label, kind=INT, default=None, low=None, high=None, optional=False, advanced=False):
    param = QgsProcessingParameterNumber(name, label, kind, default, optional)
    if low is not None:
        param.setMinimum(low)
    if high is not None:
        param.setMaximum(high)
    return _advanced(param) if advanced else param


def _model_label(model):
    bands = ", ".join(b for i in model["inputs"] for b in i["bands"])
    return f"{model['name']} (x{model['scale']}; {bands})"


def _input_bands(model):
    return sum(len(i["bands"]) for i in model["inputs"])


def _active_band_count():
    """Bands of the layer the dialog starts on: the one selected in QGIS's layer panel, else the project's first
    raster layer (QGIS calls ``initAlgorithm`` each time it opens a dialog)."""
    try:
        from qgis.core import QgsProject, QgsRasterLayer
        from qgis.utils import iface

        layer = iface.activeLayer() if iface is not None else None
        if not isinstance(layer, QgsRasterLayer):
            rasters = [l for l in QgsProject.instance().mapLayers().values() if isinstance(l, QgsRasterLayer)]
            layer = rasters[0] if rasters else None
        return layer.bandCount() if layer is not None else None
    except Exception:  # no project, or QGIS's Python utilities absent
        return None


class Sr4rsAlgorithm(QgsProcessingAlgorithm):
    """What every sr4rs algorithm shares: the bundled models, the worker, the model parameters."""

    NAME, LABEL, HELP = "", "", ""

    def __init__(self, models=None):
        super().__init__()
        self.models = list(models or [])

    def createInstance(self):  # noqa: N802 (QGIS's names)
        return type(self)(self.models)

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802
        return self.LABEL

    def group(self):
        return "Super-resolution"

    def groupId(self):  # noqa: N802
        return "superresolution"

    def shortHelpString(self):  # noqa: N802
        return self.HELP

    def add_model_parameters(self):
        """MODEL: automatic or a bundled model by name (the one made for the selected layer's band count
        preselected); SAVEDMODEL: a SavedModel folder, which replaces it."""
        options = [AUTO_MODEL] + [_model_label(m) for m in self.models]
        count, default = _active_band_count(), 0
        for i, model in enumerate(self.models):
            if count is not None and _input_bands(model) == count and len(model["inputs"]) == 1:
                default = i + 1
                break
        self.addParameter(QgsProcessingParameterEnum("MODEL", "Model", options, defaultValue=default))
        self.addParameter(QgsProcessingParameterFile(
            "SAVEDMODEL", "or a SavedModel folder (trusted models only)",
            behavior=QgsProcessingParameterFile.Folder, optional=True))

    def model_value(self, parameters, context):
        folder = self.parameterAsFile(parameters, "SAVEDMODEL", context)
        if folder:
            return folder
        index = self.parameterAsEnum(parameters, "MODEL", context)
        if index == 0:
            return None
        if index > len(self.models):
            raise QgsProcessingException(f"model number {index} is not among the {len(self.models)} bundled models")
        return self.models[index - 1]["name"]

    def add_output_options(self, nodata=True):
        if nodata:
            self.addParameter(_number("NODATA", "Nodata value of inputs without a nodata tag (e.g. 0)", DOUBLE,
                                      optional=True))
        self.addParameter(QgsProcessingParameterEnum("ENCODING", "Output pixel type", ENCODINGS, defaultValue=0))
        self.addParameter(_advanced(QgsProcessingParameterEnum(
            "COMPRESSION", "Compression (DEFLATE for software whose GDAL lacks ZSTD)", COMPRESSIONS, defaultValue=0)))

    def output_options(self, parameters, context):
        compression = COMPRESSIONS[self.parameterAsEnum(parameters, "COMPRESSION", context)]
        options = {"encoding": ENCODINGS[self.parameterAsEnum(parameters, "ENCODING", context)],
                   "creation_options": [f"COMPRESS={compression}"]}
        if "NODATA" in parameters and parameters["NODATA"] is not None and parameters["NODATA"] != "":
            options["nodata"] = self.parameterAsDouble(parameters, "NODATA", context)
        return options

    def optional_int(self, parameters, name, context):
        value = parameters.get(name)
        return None if value is None or value == "" else self.parameterAsInt(parameters, name, context)

    def layer_path(self, parameters, name, context, optional=False):
        """The file of a raster or vector layer parameter (sr4rs reads files, through GDAL)."""
        layer = (self.parameterAsVectorLayer if name == "POINTS" else self.parameterAsRasterLayer)(
            parameters, name, context)
        if layer is None:
            if optional:
                return None
            raise QgsProcessingException(f"{name}: no layer given")
        if layer.providerType() not in ("gdal", "ogr"):
            raise QgsProcessingException(f"{name}: layer '{layer.name()}' is not a file ({layer.providerType()} "
                                         "layer): save it as a GeoTIFF (or a GeoPackage) first")
        return layer.source().split("|")[0]


class SuperResolve(Sr4rsAlgorithm):
    NAME, LABEL = "superresolve", "Super-resolve a raster layer"
    HELP = ("Super-resolves a raster layer with a bundled model (by default the one made for its band count) or a "
            "TensorFlow SavedModel, tile by tile without seams, into a GeoTIFF on the same map grid with pixels "
            "'scale' times smaller. Nodata pixels stay nodata. Cancelling stops within one batch of tiles and "
            "leaves no file behind.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Input raster"))
        self.add_model_parameters()
        self.add_tiling_parameters()
        self.add_output_options()
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Super-resolved raster"))

    def add_tiling_parameters(self):
        self.addParameter(_number("TILE_SIZE", "Tile size (output pixels; default: the image split evenly into tiles "
                                  "of at most 1024)", INT, None, 16, 8192, optional=True))
        self.addParameter(_number("PAD", "Margin around each tile (output pixels; default: the model's)", INT,
                                  None, 0, 2048, optional=True, advanced=True))
        self.addParameter(_number("BATCH_SIZE", "Tiles per model call (default: automatic)", INT, None, 1, 1024,
                                  optional=True, advanced=True))
        self.addParameter(_advanced(QgsProcessingParameterBoolean("COG", "Cloud Optimized GeoTIFF", False)))

    def job(self, parameters, context):
        params = {"input": self.layer_path(parameters, "INPUT", context), "model": self.model_value(parameters, context)}
        return params

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        params = self.job(parameters, context)
        params.update(self.output_options(parameters, context), output=output, overwrite=True,
                      ts=self.optional_int(parameters, "TILE_SIZE", context),
                      pad=self.optional_int(parameters, "PAD", context),
                      batch_size=self.optional_int(parameters, "BATCH_SIZE", context),
                      cog=self.parameterAsBoolean(parameters, "COG", context))
        result = run_task("apply", params, feedback)
        feedback.pushInfo(f"wrote {result['output']} ({result['width']} x {result['height']} pixels, "
                          f"x{result['scale']}) in {result['seconds']:.1f} s")
        return {"OUTPUT": output}


class SuperResolveProduct(SuperResolve):
    NAME, LABEL = "superresolve_product", "Super-resolve a Sentinel-2 product's bands"
    HELP = ("Reads the chosen bands of a Sentinel-2 L1C or L2A product (its .zip, or the MTD_MSIL*.xml file of its "
            ".SAFE folder) directly, radiometric offsets removed, and super-resolves them like 'Super-resolve a "
            "raster layer'. Bands of one resolution for a single-input model (e.g. B4, B3, B2 at 10 m).")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            "PRODUCT", "Sentinel-2 product (.zip, or MTD_MSIL*.xml in the .SAFE folder)",
            fileFilter="Sentinel-2 products (*.zip *.xml *.SAFE);;All files (*)"))
        self.addParameter(QgsProcessingParameterEnum("BANDS", "Bands, in order", S2_BANDS, allowMultiple=True,
                                                     defaultValue=[3, 2, 1]))
        self.addParameter(QgsProcessingParameterEnum("SENSOR", "Product type", SENSORS, defaultValue=0))
        self.add_model_parameters()
        self.add_tiling_parameters()
        self.add_output_options(nodata=False)
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Super-resolved raster"))

    def job(self, parameters, context):
        product = self.parameterAsFile(parameters, "PRODUCT", context)
        if product.lower().endswith(".xml"):
            product = os.path.dirname(product)
        sensor = SENSORS[self.parameterAsEnum(parameters, "SENSOR", context)]
        bands = [S2_BANDS[i] for i in self.parameterAsEnums(parameters, "BANDS", context)]
        return {"input": product, "bands": bands, "sensor": None if sensor == "detect" else sensor,
                "model": self.model_value(parameters, context)}


class ExtractPatches(Sr4rsAlgorithm):
    NAME, LABEL = "extract", "Extract training patches"
    HELP = ("Cuts LR/HR patch pairs into OTBTF patches images (for sr4rs train, SR4RS's train.py and OTBTF's "
            "PatchesImagesReader): from an LR and an HR image on aligned grids, or from the HR image alone degraded "
            "by the factor (Wald's protocol). Patches holding nodata are skipped: 'all' when a pixel's every band "
            "is nodata, 'any' when any band is (OTBTF's PatchesExtraction).")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("HR", "High-resolution image"))
        self.addParameter(QgsProcessingParameterRasterLayer("LR", "Low-resolution image (none: Wald's protocol)",
                                                            optional=True))
        self.addParameter(_number("FACTOR", "Factor (required without an LR image)", INT, None, 2, 16, optional=True))
        self.addParameter(_number("PATCH_SIZE", "Patch size (LR pixels)", INT, 32, 4, 4096))
        self.addParameter(_number("STEP", "Grid step (LR pixels; default: the patch size)", INT, None, 1, 4096,
                                  optional=True))
        self.addParameter(QgsProcessingParameterVectorLayer(
            "POINTS", "Patch centres (replace the grid)", [QgsProcessing.TypeVectorPoint], optional=True))
        self.addParameter(_number("VAL_FRACTION", "Fraction kept for validation", DOUBLE, 0.0, 0.0, 0.9))
        self.addParameter(_number("SEED", "Seed of the validation draw", INT, 0, 0, 2 ** 31 - 1, advanced=True))
        self.addParameter(QgsProcessingParameterEnum("NODATA_RULE", "Patches holding nodata", NODATA_RULES,
                                                     defaultValue=0))
        self.add_output_options()
        self.addParameter(QgsProcessingParameterFileDestination("OUT_LR", "LR patches image", "GeoTIFF (*.tif)"))
        self.addParameter(QgsProcessingParameterFileDestination("OUT_HR", "HR patches image", "GeoTIFF (*.tif)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        params = self.output_options(parameters, context)
        params.update(hr=self.layer_path(parameters, "HR", context),
                      lr=self.layer_path(parameters, "LR", context, optional=True),
                      points=self.layer_path(parameters, "POINTS", context, optional=True),
                      factor=self.optional_int(parameters, "FACTOR", context),
                      patch_size=self.parameterAsInt(parameters, "PATCH_SIZE", context),
                      step=self.optional_int(parameters, "STEP", context),
                      val_fraction=self.parameterAsDouble(parameters, "VAL_FRACTION", context),
                      seed=self.parameterAsInt(parameters, "SEED", context),
                      nodata_rule=NODATA_RULES[self.parameterAsEnum(parameters, "NODATA_RULE", context)],
                      out_lr=self.parameterAsFileOutput(parameters, "OUT_LR", context),
                      out_hr=self.parameterAsFileOutput(parameters, "OUT_HR", context), overwrite=True)
        result = run_task("extract", params, feedback)
        feedback.pushInfo("wrote " + ", ".join(result["files"]))
        return {"OUT_LR": params["out_lr"], "OUT_HR": params["out_hr"]}


class Train(Sr4rsAlgorithm):
    NAME, LABEL = "train", "Train a super-resolution model"
    HELP = ("Trains a generator on LR/HR patches images (from 'Extract training patches', sr4rs extract or OTBTF's "
            "PatchesExtraction) and exports it as a SavedModel folder that 'Super-resolve a raster layer' and OTBTF "
            "run. Long: progress follows the epochs, a checkpoint is written after each, and cancelling stops "
            "before the next batch (the checkpoints of finished epochs are kept; no model is exported).")

    def initAlgorithm(self, config=None):  # noqa: N802
        for name, label, optional in (("LR_PATCHES", "LR patches image", False), ("HR_PATCHES", "HR patches image",
                                      False), ("VALID_LR", "Validation LR patches", True),
                                      ("VALID_HR", "Validation HR patches", True)):
            self.addParameter(QgsProcessingParameterFile(name, label, fileFilter="GeoTIFF (*.tif *.tiff)",
                                                         optional=optional))
        self.addParameter(QgsProcessingParameterEnum("ARCH", "Network", ARCHS, defaultValue=0))
        self.addParameter(_number("DEPTH", "Depth (channels)", INT, 32, 4, 512))
        self.addParameter(_number("NRESBLOCKS", "Residual blocks", INT, 8, 0, 64))
        self.addParameter(_number("EPOCHS", "Epochs", INT, 40, 1, 100000))
        self.addParameter(_number("BATCHSIZE", "Batch size", INT, 16, 1, 4096))
        self.addParameter(_number("ADAM_LR", "Learning rate", DOUBLE, 0.0002, 1e-7, 1.0, advanced=True))
        self.addParameter(_number("L1WEIGHT", "L1 loss weight", DOUBLE, 0.0, 0.0, 1e6, advanced=True))
        self.addParameter(_number("L2WEIGHT", "L2 loss weight", DOUBLE, 1000.0, 0.0, 1e6, advanced=True))
        self.addParameter(_number("GANWEIGHT", "GAN loss weight (0: no discriminator)", DOUBLE, 0.0, 0.0, 1e6,
                                  advanced=True))
        self.addParameter(_number("SEED", "Seed (repeatable runs)", INT, None, 0, 2 ** 31 - 1, optional=True,
                                  advanced=True))
        self.addParameter(QgsProcessingParameterBoolean("AUGMENT", "Augment (flips, 90-degree rotations)", False))
        self.addParameter(QgsProcessingParameterFolderDestination("CHECKPOINTS", "Checkpoints folder"))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "SavedModel folder"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        def files(name):
            value = self.parameterAsFile(parameters, name, context)
            return [value] if value else []

        numbers = {k.lower(): self.parameterAsDouble(parameters, k, context)
                   for k in ("ADAM_LR", "L1WEIGHT", "L2WEIGHT", "GANWEIGHT")}
        ints = {k.lower(): self.parameterAsInt(parameters, k, context)
                for k in ("DEPTH", "NRESBLOCKS", "EPOCHS", "BATCHSIZE")}
        output = self.parameterAsString(parameters, "OUTPUT", context)
        config = dict(lr_patches=files("LR_PATCHES"), hr_patches=files("HR_PATCHES"),
                      valid_lr_patches=files("VALID_LR"), valid_hr_patches=files("VALID_HR"),
                      arch=ARCHS[self.parameterAsEnum(parameters, "ARCH", context)], vggweight=0.0,
                      seed=self.optional_int(parameters, "SEED", context),
                      augment=self.parameterAsBoolean(parameters, "AUGMENT", context),
                      save_ckpt=self.parameterAsString(parameters, "CHECKPOINTS", context), ckpt_folder=True,
                      savedmodel=output, overwrite=True, **numbers, **ints)
        result = run_task("train", config, feedback)
        feedback.pushInfo(f"exported {result['savedmodel']} after {result['epochs']} epochs")
        return {"OUTPUT": output, "CHECKPOINTS": config["save_ckpt"]}


class Evaluate(Sr4rsAlgorithm):
    NAME, LABEL = "evaluate", "Evaluate a model"
    HELP = ("Scores a model against nearest, bilinear, bicubic and Lanczos upsampling (PSNR, SSIM, RMSE, SAM, ERGAS, "
            "consistency): on an HR reference degraded by the model's factor (Wald's protocol), on a true LR/HR "
            "pair, or on an LR image alone (consistency only). Writes evaluation.json, evaluation.csv and a panel "
            "PNG to the output folder and prints the table.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("HR", "HR reference (none: consistency of the LR "
                                                            "image only)", optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer("LR", "LR image (none: the reference degraded)",
                                                            optional=True))
        self.add_model_parameters()
        self.addParameter(_number("NODATA", "Nodata value of images without a nodata tag", DOUBLE, optional=True))
        self.addParameter(QgsProcessingParameterFolderDestination("OUT_FOLDER", "Report folder"))
        self.addOutput(QgsProcessingOutputString("TABLE", "Scores"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        model = self.model_value(parameters, context)
        hr = self.layer_path(parameters, "HR", context, optional=True)
        lr = self.layer_path(parameters, "LR", context, optional=True)
        if hr is None and lr is None:
            raise QgsProcessingException("give an HR reference, an LR image, or both")
        nodata = parameters.get("NODATA")
        params = {"models": None if model is None else [model], "hr": [hr] if hr else [], "lr": [lr] if lr else None,
                  "out_dir": self.parameterAsString(parameters, "OUT_FOLDER", context), "overwrite": True,
                  "nodata": None if nodata in (None, "") else self.parameterAsDouble(parameters, "NODATA", context)}
        result = run_task("evaluate", params, feedback)
        return {"OUT_FOLDER": params["out_dir"], "TABLE": result["table"]}


ALGORITHMS = [SuperResolve, SuperResolveProduct, ExtractPatches, Train, Evaluate]
