"""Converts nsfwjs's MobileNetV2 graph model (a tfjs graph-model folder) to ONNX.

Run by `npm run model:export-backbone` (scripts/model-export/export-backbone.ts) inside the project's
pinned virtual environment; not meant to be called by hand. Steps:
  1. tfjs-graph-converter reads the folder in compat mode `tflite`, which splits tfjs's fused ops
     (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul) into the plain ops TensorFlow and tf2onnx know.
  2. The graph is wrapped so it takes what the scorer has: uint8 RGB pixels [n, 224, 224, 3], cast and
     divided by 255 as tfjs does (backbone.ts), and gives two outputs: `features` [n, 1792] (the
     penultimate SpatialSqueeze) and `nsfw` [n, 5] (nsfwjs's softmax head).
  3. The optimiser's private attributes (`_input_shapes`, `_output_shapes`, ...) are stripped: tf2onnx
     trips over them. tf2onnx converts at opset 17.
  4. nsfwjs ships its weights quantised to 256 levels: each float initialiser with at most 256 distinct
     values is stored as uint8 indices + a table, which ONNX Runtime folds back at load (bit-identical
     floats, a quarter of the file).
  5. The ONNX model is checked against TensorFlow on random pixels (max abs difference and cosine).
  6. Optionally, a statically quantised int8 (QDQ, per-channel) copy calibrated on pixels given as a
     raw uint8 file (made by the Node side with the project's own preprocessing).
Prints one JSON line with what it did.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

FEATURE_NODE = (
    "StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/"
    "StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze"
)
HEAD_NODE = "Identity"
INPUT_NODE = "input"
SIZE = 224


def load_tf_graph(graph_model_dir):
    from tfjs_graph_converter import api
    from tfjs_graph_converter.common import CompatMode

    graph = api.load_graph_model(graph_model_dir, compat_mode=CompatMode.TFLITE)
    graph_def = graph.as_graph_def()
    stripped = 0
    for node in graph_def.node:
        for key in [k for k in node.attr.keys() if k.startswith("_")]:
            del node.attr[key]
            stripped += 1
    return graph_def, stripped


def wrap(graph_def):
    """A graph taking uint8 pixels, with outputs named `features` and `nsfw`."""
    import tensorflow as tf

    wrapped = tf.Graph()
    with wrapped.as_default():
        pixels = tf.compat.v1.placeholder(tf.uint8, [None, SIZE, SIZE, 3], name="pixels")
        scaled = tf.cast(pixels, tf.float32) / 255.0
        feat, head = tf.graph_util.import_graph_def(
            graph_def,
            input_map={f"{INPUT_NODE}:0": scaled},
            return_elements=[f"{FEATURE_NODE}:0", f"{HEAD_NODE}:0"],
            name="nsfwjs",
        )
        tf.identity(feat, name="features")
        tf.identity(head, name="nsfw")
    out = wrapped.as_graph_def()
    for node in out.node:
        for key in [k for k in node.attr.keys() if k.startswith("_")]:
            del node.attr[key]
    return out


def run_tf(graph_def, pixels):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(["features:0", "nsfw:0"], {"pixels:0": pixels})


def to_onnx(graph_def, opset):
    import tf2onnx

    model, _ = tf2onnx.convert.from_graph_def(
        graph_def, input_names=["pixels:0"], output_names=["features:0", "nsfw:0"], opset=opset
    )
    rename = {"pixels:0": "pixels", "features:0": "features", "nsfw:0": "nsfw"}
    for value in list(model.graph.input) + list(model.graph.output):
        value.name = rename.get(value.name, value.name)
    for node in model.graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    return model


def pack_initialisers(model, min_elements=64):
    """Stores float initialisers with at most 256 distinct values as uint8 indices + a value table.

    nsfwjs ships every weight quantised to 256 levels, and conversion keeps them on those levels (it only
    transposes), so each weight becomes uint8 indices and a float table, joined by Cast + Gather, which
    ONNX Runtime folds back into the same float tensor at load: bit-identical, a quarter of the bytes.
    """
    from onnx import helper, numpy_helper, TensorProto

    graph = model.graph
    kept, unpack_nodes, packed = [], [], 0
    for init in graph.initializer:
        values = numpy_helper.to_array(init) if init.data_type == TensorProto.FLOAT else None
        if values is None or values.size < min_elements:
            kept.append(init)
            continue
        table, indices = np.unique(values, return_inverse=True)
        if table.size > 256:
            kept.append(init)
            continue
        name = init.name
        kept.append(numpy_helper.from_array(indices.reshape(values.shape).astype(np.uint8), f"{name}__index"))
        kept.append(numpy_helper.from_array(table.astype(np.float32), f"{name}__table"))
        unpack_nodes += [
            helper.make_node("Cast", [f"{name}__index"], [f"{name}__index32"], to=TensorProto.INT32),
            helper.make_node("Gather", [f"{name}__table", f"{name}__index32"], [name], axis=0),
        ]
        packed += 1
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(unpack_nodes + nodes)
    return packed


def run_onnx(path, pixels, threads=2):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session.run(["features", "nsfw"], {"pixels": pixels})


def compare(reference, candidate):
    a = reference.reshape(reference.shape[0], -1).astype(np.float64)
    b = candidate.reshape(candidate.shape[0], -1).astype(np.float64)
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"maxAbsDiff": float(np.abs(a - b).max()), "minCosine": float(cosine.min())}


def quantise(float_path, int8_path, calibration, batch):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([calibration[i : i + batch] for i in range(0, len(calibration), batch)])

        def get_next(self):
            chunk = next(self.batches, None)
            return None if chunk is None else {"pixels": chunk}

    prepared = int8_path + ".prep.onnx"
    quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
    try:
        quantize_static(
            prepared,
            int8_path,
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            # The uint8 input and its Cast stay as they are; only float work is quantised.
            nodes_to_exclude=[],
        )
    finally:
        if os.path.exists(prepared):
            os.remove(prepared)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--graph-model", required=True, help="tfjs graph-model folder (model.json + weights)")
    parser.add_argument("--out", required=True, help="float ONNX file to write")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--check-images", type=int, default=8, help="random images for the TensorFlow check")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--int8-out", help="also write a statically quantised int8 copy here")
    parser.add_argument("--calibration", help="raw uint8 file of n×224×224×3 calibration pixels")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest feature difference allowed vs TensorFlow")
    args = parser.parse_args()

    import onnx
    import tensorflow as tf
    import tf2onnx
    import onnxruntime

    graph_def, stripped = load_tf_graph(args.graph_model)
    wrapped = wrap(graph_def)
    model = to_onnx(wrapped, args.opset)
    float_initialisers = sum(1 for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT)
    packed = pack_initialisers(model)
    model.producer_name = "moodstream scripts/model-export (tfjs-graph-converter + tf2onnx)"
    model.doc_string = "nsfwjs 4.3.0 mobilenet_v2_mid (MIT, Infinite Red) converted to ONNX: pixels uint8 [n,224,224,3] -> features [n,1792], nsfw [n,5]"
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(model, args.out)

    rng = np.random.default_rng(args.seed)
    pixels = rng.integers(0, 256, size=(args.check_images, SIZE, SIZE, 3), dtype=np.uint8)
    tf_features, tf_head = run_tf(wrapped, pixels)
    onnx_features, onnx_head = run_onnx(args.out, pixels)
    report = {
        "versions": {"tensorflow": tf.__version__, "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
        "opset": args.opset,
        "strippedPrivateAttributes": stripped,
        "packedInitialisers": f"{packed} of {float_initialisers}",
        "float": {"path": args.out, "bytes": os.path.getsize(args.out), "features": compare(tf_features, onnx_features), "nsfw": compare(tf_head, onnx_head)},
    }
    ok = report["float"]["features"]["maxAbsDiff"] <= args.tolerance and report["float"]["nsfw"]["maxAbsDiff"] <= args.tolerance

    if args.int8_out:
        if not args.calibration:
            parser.error("--int8-out needs --calibration")
        calibration = np.fromfile(args.calibration, dtype=np.uint8).reshape(-1, SIZE, SIZE, 3)
        quantise(args.out, args.int8_out, calibration, batch=16)
        int8_features, int8_head = run_onnx(args.int8_out, pixels)
        report["int8"] = {
            "path": args.int8_out,
            "bytes": os.path.getsize(args.int8_out),
            "calibrationImages": int(calibration.shape[0]),
            "features": compare(tf_features, int8_features),
            "nsfw": compare(tf_head, int8_head),
        }
    report["ok"] = ok
    print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
