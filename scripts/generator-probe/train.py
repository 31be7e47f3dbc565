"""Native-TensorFlow trainer of the post generator (issue 15, docs/model.md "Generated posts").

Trains the network of libs/model/src/generate/lm-network.ts in Keras on the inputs export-data.ts wrote (the shipped
generator's word list and vectors, libs/model's token ids, the seeded 800 held-out dev texts, Emotion6 training-image
features), then writes the weights under lm-network.ts's layer names for import-run.ts:

  gen_image  Dense(imageUnits, relu) on the image features
  gen_h0/c0  Dense(lstmUnits, tanh) on [gen_image | hasImage | one-hot emotion]: the LSTM's initial state
  gen_lstm   LSTM(lstmUnits), recurrent activation sigmoid (as the plain-JS sampler computes), frozen word vectors in
  gen_logits Dense(vocab) on every LSTM output

Keras's Dense kernel is [in, out] and its LSTM kernel [in, 4H] / recurrent kernel [H, 4H] / bias [4H] with the gates
in the order i, f, c, o: the same layout tfjs's getWeights() has, so tensors go across unchanged.

  python train.py train --data DIR --out RUN [--unconditioned] [--units 64] [--image-units 32] [--epochs 8] ...
  python train.py fixture --out scripts/generator-probe/fixture   (the tiny model generator-import.test.ts checks)

Training follows train-language-model.ts: teacher forcing (inputs </s> w1..wn, targets w1..wn </s>), batches padded
to their longest text with a loss mask, Adam, an epoch-shuffled order, and with --pair-probability a same-label
Emotion6 training image for a text (hasImage = 1); the unconditioned baseline gets a zero image and a zero condition.
The epoch kept is the one with the lowest perplexity on `select` (the dev texts outside the 800 held-out ones).

Quiet-machine protocol: before every training and evaluation batch the run tests /tmp/bench.lock without blocking and
sleeps 1 s while a benchmark holds it (text-probe's LockWaiter); the time paused is reported apart from training time.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "text-probe"))
from probe import LockWaiter, write_export_file  # noqa: E402  (the text probe's lock test and export writer, reused as they are)

EXPORT_MAGIC = b"MSGENER1"
EXPORT_FORMAT = "moodstream-generator-probe-export/1"
PAD, UNK, BOUNDARY = 0, 1, 2
EMOTIONS = 6
LAYERS = ("gen_image", "gen_h0", "gen_c0", "gen_lstm", "gen_logits")


def load_data(directory):
    meta_file = os.path.join(directory, "tokens.json")
    if not os.path.exists(meta_file):
        sys.exit(f"train.py: no {meta_file}: run scripts/generator-probe/export-data.ts --out {directory} first")
    with open(meta_file) as f:
        meta = json.load(f)
    vectors = np.fromfile(os.path.join(directory, "vectors.f32"), dtype=np.float32)
    words = meta["words"]
    if vectors.size != len(words) * meta["dim"]:
        sys.exit(f"train.py: vectors.f32 holds {vectors.size} floats, expected {len(words)} x {meta['dim']}")
    if words[:3] != ["<pad>", "<unk>", "</s>"]:
        sys.exit("train.py: the word list must start with <pad> <unk> </s> (generator-config.ts ids)")
    images = np.fromfile(os.path.join(directory, "images.f32"), dtype=np.float32)
    feature_dim = meta["shape"]["imageFeatureDim"]
    images = images.reshape(-1, feature_dim)
    if images.shape[0] != len(meta["imageLabels"]):
        sys.exit(f"train.py: images.f32 holds {images.shape[0]} rows, tokens.json names {len(meta['imageLabels'])}")
    return meta, vectors.reshape(len(words), meta["dim"]), images


def build_model(vocab_size, dim, units, image_units, feature_dim, dropout, seed):
    """lm-network.ts buildLanguageModel in Keras; the frozen word vectors are an untrainable Embedding in front."""
    import keras
    from keras import layers

    init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
    ids = keras.Input((None,), dtype="int32", name="ids")
    image = keras.Input((feature_dim,), name="image")
    condition = keras.Input((EMOTIONS + 1,), name="condition")
    embedding = layers.Embedding(vocab_size, dim, trainable=False, name="words")
    embedded = embedding(ids)
    image_vec = layers.Dense(image_units, activation="relu", kernel_initializer=init(0), name="gen_image")(image)
    cond = layers.Concatenate(name="gen_condition")([image_vec, condition])
    h0 = layers.Dense(units, activation="tanh", kernel_initializer=init(1), name="gen_h0")(cond)
    c0 = layers.Dense(units, activation="tanh", kernel_initializer=init(2), name="gen_c0")(cond)
    lstm = layers.LSTM(
        units,
        return_sequences=True,
        recurrent_activation="sigmoid",
        kernel_initializer=init(3),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 4),
        name="gen_lstm",
    )
    sequence = lstm(embedded, initial_state=[h0, c0])
    # Dropout on the LSTM outputs is a training-time regulariser only: the sampler reads the same weights without it.
    if dropout > 0:
        sequence = layers.Dropout(dropout, seed=seed + 5, name="gen_dropout")(sequence)
    logits = layers.Dense(vocab_size, kernel_initializer=init(6), name="gen_logits")(sequence)
    return keras.Model([ids, image, condition], logits, name="post_generator"), embedding


def batch_arrays(seqs, labels, images, conditioned, feature_dim):
    """lm-data.ts batchArrays + train-language-model.ts batchTensors: </s>-prefixed inputs, </s>-suffixed targets,
    post-padded to the longest; image rows (zeros without one) and [hasImage, one-hot emotion] (zeros unconditioned)."""
    n = len(seqs)
    T = max(len(s) for s in seqs) + 1
    inputs = np.full((n, T), PAD, dtype=np.int32)
    targets = np.full((n, T), PAD, dtype=np.int32)
    mask = np.zeros((n, T), dtype=np.float32)
    image = np.zeros((n, feature_dim), dtype=np.float32)
    condition = np.zeros((n, EMOTIONS + 1), dtype=np.float32)
    for b, s in enumerate(seqs):
        inputs[b, : len(s) + 1] = [BOUNDARY] + s
        targets[b, : len(s) + 1] = s + [BOUNDARY]
        mask[b, : len(s) + 1] = 1
        if conditioned:
            if images[b] is not None:
                image[b] = images[b]
                condition[b, 0] = 1
            condition[b, 1 + labels[b]] = 1
    return inputs, targets, mask, image, condition


def perplexity(model, ids, labels, conditioned, feature_dim, waiter, batch_size=256):
    """train-language-model.ts heldOutPerplexity: exp of the mean next-word cross-entropy over every target (end
    marker included), texts without an image."""
    import tensorflow as tf

    nll, count = 0.0, 0.0
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for s in range(0, len(order), batch_size):
        waiter.wait()
        part = order[s : s + batch_size]
        inputs, targets, mask, image, condition = batch_arrays([ids[i] for i in part], [labels[i] for i in part], [None] * len(part), conditioned, feature_dim)
        logits = model([inputs, image, condition], training=False)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits).numpy()
        nll += float((ce * mask).sum())
        count += float(mask.sum())
    return math.exp(nll / max(1.0, count)), int(count)


def write_export(path, header, tensors):
    """The probes' export file (probe.py write_export_file) with this probe's magic and format."""
    return write_export_file(path, EXPORT_MAGIC, {**header, "format": EXPORT_FORMAT}, tensors)


def read_export(path):
    """train.py's export file back: the JSON header and every tensor by name."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != EXPORT_MAGIC:
        sys.exit(f"train.py: {path} is not a generator-probe export")
    n = int.from_bytes(raw[8:12], "little")
    header = json.loads(raw[12 : 12 + n].decode("utf-8"))
    data = np.frombuffer(raw[12 + n :], dtype="<f4")
    tensors = {t["name"]: data[t["offset"] : t["offset"] + int(np.prod(t["shape"]))].reshape(t["shape"]) for t in header["tensors"]}
    return header, tensors


def weight_tensors(model):
    """Every lm-network.ts weight as `layer/index`, in each layer's get_weights() order (= tfjs getWeights())."""
    out = []
    for name in LAYERS:
        for i, w in enumerate(model.get_layer(name).get_weights()):
            out.append((f"{name}/{i}", np.asarray(w, dtype=np.float32)))
    return out


def reference_checks(model, cases, feature_dim):
    """Keras's next-word logits (training off) of a few texts, each with its emotion and maybe an image: what the
    TypeScript sampler must reproduce. cases: [(ids, label, image or None)]."""
    refs, tensors = [], []
    for k, (ids, label, image) in enumerate(cases):
        inputs, _, _, img, condition = batch_arrays([list(ids)], [label], [image], True, feature_dim)
        logits = model([inputs, img, condition], training=False).numpy()[0]
        refs.append({"ids": list(map(int, ids)), "label": int(label), "hasImage": image is not None})
        tensors.append((f"check/{k}/logits", logits))
        if image is not None:
            tensors.append((f"check/{k}/image", np.asarray(image, dtype=np.float32)))
    return refs, tensors


def train(args):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    keras.utils.set_random_seed(args.seed)
    meta, vectors, images = load_data(args.data)
    shape = dict(meta["shape"])
    shape.update({"lstmUnits": args.units, "imageUnits": args.image_units, "seed": args.seed})
    V, D, F = len(meta["words"]), meta["dim"], shape["imageFeatureDim"]
    conditioned = not args.unconditioned
    name = args.name or os.path.basename(os.path.normpath(args.out))
    log = lambda m: print(f"[{name}] {m}", flush=True)  # noqa: E731
    model, embedding = build_model(V, D, args.units, args.image_units, F, args.dropout, args.seed)
    embedding.embeddings.assign(vectors)
    previous = None
    if args.init:
        # Continue a run: its weights (the optimiser state starts afresh); its training record is carried over.
        previous, tensors = read_export(os.path.join(args.init, "export.bin"))
        if previous["conditioned"] != (not args.unconditioned) or previous["shape"]["lstmUnits"] != args.units or previous["shape"]["imageUnits"] != args.image_units:
            sys.exit(f"train.py: --init {args.init} is another kind of run (conditioned/units/imageUnits differ)")
        for layer in LAYERS:
            model.get_layer(layer).set_weights([tensors[f"{layer}/{i}"] for i in range(len(model.get_layer(layer).get_weights()))])
        log(f"continuing {previous['run']} ({previous['training']['epochs']} epochs, {previous['training']['seconds']:.0f} s)")
    optimizer = keras.optimizers.Adam(args.learning_rate, clipnorm=args.clipnorm if args.clipnorm > 0 else None)
    trainable = model.trainable_variables
    log(f"{len(meta['train']['ids'])} train texts, {sum(int(np.prod(v.shape)) for v in trainable)} trainable parameters, "
        f"{'conditioned' if conditioned else 'unconditioned'}, tensorflow {tf.__version__}")

    spec = [tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.float32),
            tf.TensorSpec((None, F), tf.float32), tf.TensorSpec((None, EMOTIONS + 1), tf.float32)]

    @tf.function(input_signature=spec)
    def step(inputs, targets, mask, image, condition):
        with tf.GradientTape() as tape:
            logits = model([inputs, image, condition], training=True)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
            loss = tf.reduce_sum(ce * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        grads = tape.gradient(loss, trainable)
        optimizer.apply_gradients(zip(grads, trainable))
        return loss

    train_ids, train_labels = meta["train"]["ids"], meta["train"]["labels"]
    pools = [np.flatnonzero(np.array(meta["imageLabels"]) == c) for c in range(EMOTIONS)]
    rng = np.random.default_rng(args.seed)
    waiter = LockWaiter()
    steps_per_epoch = math.ceil(len(train_ids) / args.batch_size)
    history, best = [], {"select": float("inf")}
    started = time.time()
    steps, over_budget = 0, False
    for epoch in range(args.epochs):
        order = rng.permutation(len(train_ids))
        losses = []
        for s in range(steps_per_epoch):
            waiter.wait()
            part = order[s * args.batch_size : (s + 1) * args.batch_size]
            pairs = []
            for i in part:
                pool = pools[train_labels[i]]
                pairs.append(images[rng.choice(pool)] if conditioned and len(pool) > 0 and rng.random() < args.pair_probability else None)
            arrays = batch_arrays([train_ids[i] for i in part], [train_labels[i] for i in part], pairs, conditioned, F)
            losses.append(float(step(*arrays)))
            steps += 1
            if args.max_seconds is not None and time.time() - started - waiter.paused > args.max_seconds:
                over_budget = True
                break
        select, _ = perplexity(model, meta["select"]["ids"], meta["select"]["labels"], conditioned, F, waiter)
        at = epoch + (s + 1) / steps_per_epoch
        rec = {"epoch": round(at, 3), "steps": steps, "loss": float(np.mean(losses)), "select": select, "seconds": time.time() - started - waiter.paused}
        history.append(rec)
        log(f"epoch {rec['epoch']}: train loss {rec['loss']:.3f}, select perplexity {select:.1f}, {rec['seconds']:.0f} s")
        if select < best["select"]:
            best = {"select": select, "epoch": rec["epoch"], "steps": steps, "index": len(history) - 1, "weights": [w.copy() for w in model.get_weights()]}
        elif len(history) - 1 - best["index"] >= args.patience:
            log(f"early stop: select perplexity has not fallen for {args.patience} epochs")
            break
        if over_budget:
            log(f"time budget of {args.max_seconds} s reached")
            break
    train_seconds = time.time() - started - waiter.paused
    model.set_weights(best["weights"])
    held, held_tokens = perplexity(model, meta["heldOut"]["ids"], meta["heldOut"]["labels"], conditioned, F, waiter)
    log(f"kept epoch {best['epoch']} (select {best['select']:.1f}); held-out perplexity {held:.1f} over {held_tokens} tokens (Keras); "
        f"training {train_seconds:.0f} s (+{waiter.paused:.0f} s paused for benchmarks)")

    # The sampler check: the first held-out texts with their emotion, two of them with a same-label training image.
    cases = []
    for k in range(args.checks):
        ids, label = meta["heldOut"]["ids"][k], meta["heldOut"]["labels"][k]
        pool = pools[label]
        cases.append((ids, label, images[pool[k % len(pool)]] if k % 2 == 1 and len(pool) > 0 and conditioned else None))
    refs, check_tensors = reference_checks(model, cases, F) if conditioned else ([], [])
    before = previous["training"] if previous else {"seconds": 0.0, "pausedSeconds": 0.0, "steps": 0, "epochs": 0, "history": []}
    training = {
        "trainer": "scripts/generator-probe/train.py (tensorflow %s, CPU)" % tf.__version__,
        "args": {k: v for k, v in vars(args).items() if k not in ("func",)},
        "trainTexts": len(train_ids),
        "images": int(images.shape[0]),
        "steps": before["steps"] + best["steps"],
        "epochs": round(before["epochs"] + best["epoch"], 3),
        "seconds": before["seconds"] + train_seconds,
        "pausedSeconds": before["pausedSeconds"] + waiter.paused,
        "selectPerplexity": best["select"],
        "kerasHeldOutPerplexity": held,
        "continued": [before["args"]] if previous else [],
        "history": before["history"] + [{**h, "epoch": round(before["epochs"] + h["epoch"], 3), "steps": before["steps"] + h["steps"], "seconds": before["seconds"] + h["seconds"]} for h in history],
    }
    os.makedirs(args.out, exist_ok=True)
    header = {"run": name, "generatorVersion": meta["generatorVersion"], "backboneId": meta["backboneId"], "conditioned": conditioned,
              "shape": shape, "words": meta["words"], "training": training, "checks": refs}
    tensors = [("vocab/vectors", vectors)] + weight_tensors(model) + check_tensors
    floats = write_export(os.path.join(args.out, "export.bin"), header, tensors)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(training, f, indent=1)
    log(f"wrote {os.path.join(args.out, 'export.bin')}: {len(tensors)} tensors, {floats} floats")


def fixture(args):
    """A tiny random model written as train.py exports a run, with Keras's logits of three texts: generator-import.test.ts
    imports it and checks the TypeScript sampler's and the tfjs network's logits against these, without shared data."""
    import keras

    keras.utils.set_random_seed(5)
    words = ["<pad>", "<unk>", "</s>", "i", "feel", "so", "happy", "sad", "today", "storm", "wow", "gross"]
    V, D, H, I, F = len(words), 4, 3, 2, 5
    rng = np.random.default_rng(5)
    # On vocab.bin's int8 grid (row scale x integers, one of them 127), so saveGenerator stores them unchanged.
    q = rng.integers(-127, 128, (V, D))
    q[:, 0] = 127
    scales = rng.uniform(0.004, 0.01, (V, 1)).astype(np.float32).astype(np.float64)
    vectors = (q * scales).astype(np.float32)
    vectors[PAD] = 0
    model, embedding = build_model(V, D, H, I, F, 0.0, 5)
    embedding.embeddings.assign(vectors)
    # Weights far from their initialisation (large enough that a wrong gate order or transpose shows in the logits).
    model.set_weights([w if w.shape == vectors.shape else rng.normal(0, 0.7, w.shape).astype(np.float32) for w in model.get_weights()])
    embedding.embeddings.assign(vectors)
    image = rng.uniform(0, 2, F).astype(np.float32)
    cases = [([3, 4, 5, 6], 0, None), ([9, 1, 7, 7, 8], 4, image), ([10], 3, None)]
    refs, check_tensors = reference_checks(model, cases, F)
    shape = {"embeddingDim": D, "lstmUnits": H, "imageUnits": I, "imageFeatureDim": F, "vocabSize": V, "conditionDim": EMOTIONS + 1, "maxLen": 6, "seed": 5}
    os.makedirs(args.out, exist_ok=True)
    header = {"run": "fixture", "generatorVersion": "fixture", "backboneId": "mobilenet_v2_mid", "conditioned": True, "shape": shape,
              "words": words, "training": {"trainer": "scripts/generator-probe/train.py fixture (random weights)"}, "checks": refs}
    write_export(os.path.join(args.out, "export.bin"), header, [("vocab/vectors", vectors)] + weight_tensors(model) + check_tensors)
    print(f"wrote {os.path.join(args.out, 'export.bin')}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the generator (or the unconditioned baseline) and write RUN/export.bin")
    t.add_argument("--data", required=True, help="export-data.ts output folder")
    t.add_argument("--out", required=True, help="the run folder (export.bin, summary.json)")
    t.add_argument("--name", help="run name (default: the run folder's name)")
    t.add_argument("--unconditioned", action="store_true", help="the baseline: zero image and condition, only the learnt constant initial state")
    t.add_argument("--units", type=int, default=64, help="LSTM units (lm-network.ts lstmUnits)")
    t.add_argument("--image-units", type=int, default=32, help="units of the image condition (imageUnits)")
    t.add_argument("--dropout", type=float, default=0.0, help="dropout on the LSTM outputs while training")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--learning-rate", type=float, default=0.003)
    t.add_argument("--clipnorm", type=float, default=0.0, help="clip each gradient's norm (0: off, as the tfjs trainer)")
    t.add_argument("--pair-probability", type=float, default=0.3, help="share of training texts given a same-label Emotion6 training image")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--max-seconds", type=float, default=None, help="training-time budget (pauses for benchmarks excluded)")
    t.add_argument("--patience", type=int, default=2, help="epochs without a lower select perplexity before stopping")
    t.add_argument("--checks", type=int, default=4, help="held-out texts whose Keras logits go into the export for the sampler check")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=7)
    t.add_argument("--init", help="a run folder to continue from (its weights; same kind of run)")
    f = sub.add_parser("fixture", help="write the tiny random model generator-import.test.ts checks")
    f.add_argument("--out", required=True)
    args = p.parse_args()
    if args.command == "train":
        train(args)
    else:
        fixture(args)


if __name__ == "__main__":
    main()
