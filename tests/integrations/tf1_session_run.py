"""Run SavedModels the way OTBTF's TensorflowModelServe does (a TF1 session, tag ``serve``, tensors found
through the ``serving_default`` SignatureDef), with whatever TensorFlow runs this script: the tests run it
with TensorFlow 2.14.1, the version OTBTF 4.x ships.

Usage: python tf1_session_run.py JOBS.json, each job {"model": folder, "inputs": npz of arrays named by
input, "outputs": [keys], "result": npz to write}. It imports nothing of sr4rs.
"""
import json
import sys

import numpy as np
import tensorflow as tf


def run(job):
    graph = tf.Graph()
    with graph.as_default():
        session = tf.compat.v1.Session(graph=graph)
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], job["model"])
    signature = meta.signature_def["serving_default"]
    inputs = {k.split(":")[0]: v.name for k, v in signature.inputs.items()}
    outputs = {k.split(":")[0]: v.name for k, v in signature.outputs.items()}
    arrays = np.load(job["inputs"])
    feeds = {inputs[name]: arrays[name] for name in arrays.files}
    fetched = session.run([outputs[k] for k in job["outputs"]], feeds)
    np.savez(job["result"], **dict(zip(job["outputs"], fetched)))
    session.close()


def main():
    print("tensorflow", tf.__version__, flush=True)
    for job in json.load(open(sys.argv[1])):
        run(job)


if __name__ == "__main__":
    main()
