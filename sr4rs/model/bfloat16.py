"""A SavedModel run in bfloat16 on CPUs that compute it (oneDNN: AVX512_BF16, AMX), its pixels kept close to
float32's.

The serving function is frozen into one graph, and oneDNN's automatic mixed precision, a setting of this
session only, turns its convolutions into bfloat16 with what lies between them. Three things stay float32:

- the convolutions that read the input (with their bias): bfloat16 keeps 8 bits of a value, so a pixel of
  10000 would be read to the nearest 64, and every detail the network sees would carry that rounding; these
  convolutions have few input channels, a few percent of the work;
- the interpolations of the skip path (the upsampled input a residual is added to), and whatever they feed
  but convolutions;
- the division back to output units: the output keeps float32's resolution, the residual carries bfloat16's
  rounding.
"""
from __future__ import annotations

import logging
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

log = logging.getLogger(__name__)

# TensorFlow reads these lists from the environment when it rewrites a graph.
AMP_LISTS = {"TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_DENYLIST_ADD": ("ResizeBilinear", "ResizeBicubic", "RealDiv"),
             "TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_CLEARLIST_REMOVE": ("ResizeBilinear",),
             "TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_INFERLIST_REMOVE": ("RealDiv",)}
# Ops a value goes through from an input to the first convolutions, without being mixed by a convolution.
_CONVOLUTIONS = ("Conv2D",)


def set_amp_lists() -> None:
    for name, ops in AMP_LISTS.items():
        have = [op for op in os.environ.get(name, "").split(",") if op]
        os.environ[name] = ",".join(have + [op for op in ops if op not in have])


def input_convolutions(graph_def, inputs: Sequence[str]) -> List[str]:
    """The convolutions an input reaches before any other convolution (the network's first layer)."""
    consumers: Dict[str, List] = {}
    for node in graph_def.node:
        for name in node.input:
            consumers.setdefault(name.split(":")[0].lstrip("^"), []).append(node)
    found, seen, todo = [], set(), [name.split(":")[0] for name in inputs]
    while todo:
        for node in consumers.get(todo.pop(), []):
            if node.name in seen:
                continue
            seen.add(node.name)
            if node.op in _CONVOLUTIONS:
                found.append(node.name)
            else:
                todo.append(node.name)
    return found


def _filters(nodes, conv) -> Optional[int]:
    """The output channels of ``conv``, from its frozen kernel (None where it is not a constant)."""
    node = nodes.get(conv.input[1].split(":")[0])
    while node is not None and node.op == "Identity":
        node = nodes.get(node.input[0].split(":")[0])
    if node is None or node.op != "Const":
        return None
    dims = node.attr["value"].tensor.tensor_shape.dim
    return dims[-1].size if len(dims) == 4 else None


def _keep_float32(graph_def, conv_name: str) -> None:
    """``conv`` and the bias added to it become one ``_FusedConv2D``: an op the mixed precision rewrite leaves
    in float32 (TensorFlow's own remapper makes the same node from the same pair)."""
    nodes = {n.name: n for n in graph_def.node}
    conv = nodes[conv_name]
    bias = next((n for n in graph_def.node if n.op == "BiasAdd" and n.input[0].split(":")[0] == conv_name), None)
    if bias is None:
        filters = _filters(nodes, conv)
        if filters is None:
            return
        zeros = graph_def.node.add()
        zeros.name, zeros.op = f"{conv_name}/sr4rs_zero_bias", "Const"
        import tensorflow as tf

        zeros.attr["dtype"].type = tf.float32.as_datatype_enum
        zeros.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.zeros(filters, np.float32)))
        bias_input = zeros.name
    else:
        bias_input = bias.input[1]
    conv.op = "_FusedConv2D"
    conv.input.append(bias_input)
    conv.attr["num_args"].i = 1
    conv.attr["TArgs"].list.type.append(conv.attr["T"].type)
    conv.attr["fused_ops"].list.s.append(b"BiasAdd")
    conv.attr["epsilon"].f = 0.0001
    if bias is not None:  # the bias node now passes the fused result on
        bias.op = "Identity"
        del bias.input[:]
        bias.input.append(conv_name)
        for key in list(bias.attr):
            if key != "T":
                del bias.attr[key]


def frozen_graph(signature, input_keys: Sequence[str]):
    """The serving function as one GraphDef with its variables as constants, its input tensor names (in the
    order of ``input_keys``) and its output tensor names by output key; input convolutions kept float32."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(signature)
    keys = sorted(signature.structured_input_signature[1])
    by_key = {k: t.name for k, t in zip(keys, frozen.inputs)}
    outputs = dict(zip(sorted(signature.structured_outputs), (t.name for t in frozen.outputs)))
    graph_def = frozen.graph.as_graph_def()
    feeds = [by_key[k] for k in input_keys]
    for name in input_convolutions(graph_def, feeds):
        _keep_float32(graph_def, name)
    del tf  # imported for convert_to_constants' registrations
    return graph_def, feeds, outputs


class BFloat16Session:
    """The frozen graph in a TF1 session with oneDNN's bfloat16 rewrite on, one callable per output."""

    def __init__(self, signature, input_keys: Sequence[str]):
        import tensorflow as tf
        from tensorflow.core.protobuf import rewriter_config_pb2

        set_amp_lists()
        graph_def, self._feeds, self._fetches = frozen_graph(signature, input_keys)
        config = tf.compat.v1.ConfigProto()
        config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = rewriter_config_pb2.RewriterConfig.ON
        self._graph = tf.Graph()
        with self._graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        self._session = tf.compat.v1.Session(graph=self._graph, config=config)
        self._callables: Dict[str, object] = {}
        self.rewritten: Optional[bool] = None  # known after the first run

    def run(self, key: str, arrays) -> np.ndarray:
        if key not in self._callables:
            self._callables[key] = self._session.make_callable(self._fetches[key], self._feeds)
            if self.rewritten is None:
                return self._first_run(key, arrays)
        return self._callables[key](*arrays)

    def _first_run(self, key: str, arrays) -> np.ndarray:
        """Run once with the graphs as they were rewritten, to see that the convolutions are in bfloat16 (the
        rewrite is skipped, with a line in TensorFlow's log only, where it fails)."""
        import tensorflow as tf

        options = tf.compat.v1.RunOptions(output_partition_graphs=True)
        metadata = tf.compat.v1.RunMetadata()
        out = self._session.run(self._fetches[key], dict(zip(self._feeds, arrays)), options=options,
                                run_metadata=metadata)
        bf16 = tf.bfloat16.as_datatype_enum
        self.rewritten = any(node.attr["T"].type == bf16 for graph in metadata.partition_graphs for node in graph.node
                             if "Conv" in node.op and "T" in node.attr)
        if not self.rewritten:
            log.warning("TensorFlow did not turn this model's convolutions to bfloat16: it runs in float32")
        return out
