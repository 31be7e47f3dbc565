"""Native-TensorFlow probe of the text model family (issue 16, docs/model.md "Issue 16, sixth session").

Trains text-only variants of the shipped network's text path on the project's own inputs (exported by
export-tokens.ts: libs/model tokens, the shipped vocab.bin vectors and bow.json n-grams), selects on the dev splits
only, calibrates the way libs/model/src/train/calibrate-on-dev.ts does, and scores the GoEmotions test split only
when asked (`test`), so the test split is read once per chosen run.

  python probe.py train --tokens DIR --out RUN [--rnn lstm|bilstm|cnn] [--units 64] [--trainable-embedding] ...
  python probe.py test --tokens DIR --run RUN
  python probe.py export --tokens DIR --run RUN --out FILE   (then scripts/text-probe/import-run.ts)
  python probe.py cost --tokens DIR --run RUN [--run RUN2 ...]   (under flock /tmp/bench.lock nice -n -10)

Quiet-machine protocol: before every training and prediction batch the run tests /tmp/bench.lock without blocking
and sleeps 1 s while a benchmark holds it (BenchLockPause); the time paused is reported apart from training time.
"""

import argparse
import fcntl
import json
import math
import os
import sys
import time

import numpy as np

K = 6
SOURCES = ("goemotions", "carer")


# ---------------------------------------------------------------- data


def load_tokens(directory):
    """The exported splits and the shipped word vectors (float32, decoded from vocab.bin's int8 by libs/model)."""
    meta_file = os.path.join(directory, "tokens.json")
    if not os.path.exists(meta_file):
        sys.exit(f"probe: no {meta_file}: run scripts/text-probe/export-tokens.ts --out {directory} first")
    with open(meta_file) as f:
        meta = json.load(f)
    vectors = np.fromfile(os.path.join(directory, "vectors.f32"), dtype=np.float32)
    if vectors.size != meta["vocabSize"] * meta["dim"]:
        sys.exit(f"probe: vectors.f32 holds {vectors.size} floats, expected {meta['vocabSize']} x {meta['dim']}")
    return meta, vectors.reshape(meta["vocabSize"], meta["dim"])


def class_weights(labels, power):
    """(mean count / class count) ** power over the classes present, as trainer.ts classWeights."""
    counts = np.bincount(labels, minlength=K).astype(np.float64)
    present = counts[counts > 0]
    mean = present.mean()
    return np.where(counts > 0, (mean / np.maximum(counts, 1)) ** power, 0.0)


def training_rows(meta, source_weights, power):
    """GoEmotions + CARER train rows with per-row loss weights (class weights within each source, times its weight)."""
    ids, bows, labels, weights = [], [], [], []
    by_source = {}
    for source in SOURCES:
        split = meta["splits"][f"{source}_train"]
        y = np.asarray(split["labels"], dtype=np.int64)
        w = class_weights(y, power) * source_weights[source]
        by_source[source] = w
        ids += split["ids"]
        bows += split["bow"]
        labels += list(y)
        weights += list(w[y])
    labels = np.asarray(labels, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    # The mean weight a row of each class got: what the text-prior correction undoes (trainer.ts effectiveClassWeights).
    effective = np.array([weights[labels == c].mean() if (labels == c).any() else 0.0 for c in range(K)])
    return ids, bows, labels, weights, effective, by_source


def pad_batch(ids, bows):
    """Pre-padded ids to the batch's longest text (0 = padding, masked) and the n-gram indices with their values."""
    n = len(ids)
    t = max(1, max(len(x) for x in ids))
    m = max(1, max(len(b) for b in bows))
    tok = np.zeros((n, t), dtype=np.int32)
    bidx = np.zeros((n, m), dtype=np.int32)
    bval = np.zeros((n, m), dtype=np.float32)
    has_text = np.zeros((n, 1), dtype=np.float32)
    for i, (x, b) in enumerate(zip(ids, bows)):
        if x:
            tok[i, t - len(x):] = x
            has_text[i, 0] = 1.0
        if b:
            bidx[i, : len(b)] = b
            # BagOfWords.sparse: every present n-gram has 1/sqrt(number present): the L2-normalised presence vector.
            bval[i, : len(b)] = 1.0 / math.sqrt(len(b))
    return {"tokens": tok, "bow_index": bidx, "bow_value": bval, "has_text": has_text}


def bucketed_batches(n_rows, lengths, batch_size, rng):
    """trainer.ts lengthBucketedBatches: shuffle, sort by length inside chunks of 50 batches, shuffle the batches."""
    order = rng.permutation(n_rows)
    chunk = batch_size * 50
    batches = []
    for i in range(0, n_rows, chunk):
        part = sorted(order[i : i + chunk], key=lambda r: lengths[r])
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


# ---------------------------------------------------------------- quiet-machine protocol


class LockWaiter:
    """Tests /tmp/bench.lock without blocking; while a benchmark holds it, sleeps 1 s and tests again."""

    def __init__(self, path="/tmp/bench.lock"):
        self.path = path
        self.paused = 0.0

    def wait(self):
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # Free: release at once, never hold the lock while computing.
                fcntl.flock(fd, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                pass
            finally:
                os.close(fd)
            time.sleep(1.0)
            self.paused += 1.0


def lock_callback(waiter):
    import keras

    class BenchLockPause(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            waiter.wait()

        def on_predict_batch_begin(self, batch, logs=None):
            waiter.wait()

    return BenchLockPause()


# ---------------------------------------------------------------- model


def tfjs_hard_sigmoid(x):
    """tfjs's hardSigmoid, its LSTM's default recurrent activation and the ONNX graph's HardSigmoid(0.2, 0.5).
    Keras 3's `hard_sigmoid` is relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1): a different slope, so a run trained with it
    would not compute what the converted tfjs/ONNX network computes."""
    from keras import ops

    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


def recurrent_activation(name):
    """The LSTM gates' activation by --recurrent-activation name."""
    if name == "sigmoid":
        return "sigmoid"
    if name == "tfjs-hard-sigmoid":
        import keras

        # Registered so Bidirectional can rebuild the LSTM from its config for the backward direction.
        return keras.saving.register_keras_serializable(package="moodstream", name="tfjs_hard_sigmoid")(tfjs_hard_sigmoid)
    raise ValueError(f"unknown --recurrent-activation {name}")


def build_model(args, vectors, bow_size):
    """The shipped text path (network.ts memberTowers, text-only): words -> sequence encoder, n-grams -> Dense 64 ReLU,
    concat -> dropout -> x hasText, concat presence -> Dense 1024 ReLU -> dropout 0.5 -> Dense 6. The image branch
    and image heads are left out: on text-only rows they contribute exactly zero (gated by hasImage = 0)."""
    import keras
    from keras import layers, ops

    seed = args.seed
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    bow_index = keras.Input(shape=(None,), dtype="int32", name="bow_index")
    bow_value = keras.Input(shape=(None,), dtype="float32", name="bow_value")
    has_text = keras.Input(shape=(1,), dtype="float32", name="has_text")

    embedded = layers.Embedding(
        vectors.shape[0],
        vectors.shape[1],
        embeddings_initializer=keras.initializers.Constant(vectors),
        trainable=args.trainable_embedding,
        mask_zero=True,
        name="words",
    )(tokens)
    if args.embedding_dropout > 0:
        embedded = layers.SpatialDropout1D(args.embedding_dropout, seed=seed + 1, name="word_dropout")(embedded)
    init = lambda k: keras.initializers.GlorotUniform(seed=seed + 10 + k)
    rec = lambda k: keras.initializers.Orthogonal(seed=seed + 20 + k)
    # Runs saved before the flag existed trained with Keras's default (the logistic sigmoid).
    gate = recurrent_activation(getattr(args, "recurrent_activation", "sigmoid"))
    if args.rnn == "lstm":
        sequence = layers.LSTM(args.units, recurrent_activation=gate, kernel_initializer=init(0), recurrent_initializer=rec(0), name="text_lstm")(embedded)
    elif args.rnn == "bilstm":
        sequence = layers.Bidirectional(
            layers.LSTM(args.units, recurrent_activation=gate, kernel_initializer=init(0), recurrent_initializer=rec(0)), merge_mode="concat", name="text_bilstm"
        )(embedded)
    elif args.rnn == "cnn":
        # Pads are zero vectors (masked out of the max), so a text scores the same whatever it is batched with.
        mask = ops.expand_dims(ops.cast(ops.not_equal(tokens, 0), "float32"), -1)
        plain = embedded * mask
        pooled = []
        for width in (1, 2, 3, 4):
            conv = layers.Conv1D(args.units, width, padding="same", activation="relu", kernel_initializer=init(width), name=f"conv{width}")(plain)
            pooled.append(ops.max(conv * mask - (1.0 - mask) * 1e4, axis=1))
        sequence = layers.Concatenate(name="cnn_concat")(pooled)
    else:
        raise ValueError(f"unknown --rnn {args.rnn}")

    parts = [sequence]
    if not args.no_bow:
        # Dense(64) over the dropout'd L2-normalised presence vector, computed sparsely: sum of the present rows of the
        # kernel times their value. Dropout on the values is input dropout on the dense vector (absent n-grams are 0).
        values = layers.Dropout(args.bow_dropout, seed=seed + 2, name="bow_dropout")(bow_value)
        kernel = layers.Embedding(bow_size, args.bow_units, embeddings_initializer=init(5), name="text_bow_kernel")(bow_index)
        summed = ops.sum(kernel * ops.expand_dims(values, -1), axis=1)
        bias = layers.Dense(args.bow_units, use_bias=True, kernel_initializer="zeros", trainable=True, name="text_bow_bias")
        # A Dense on a constant zero input is a trainable bias alone; added, then ReLU.
        parts.append(layers.Activation("relu", name="text_bow_dense")(summed + bias(ops.zeros_like(has_text))))
    text = layers.Concatenate(name="text_concat")(parts) if len(parts) > 1 else parts[0]
    if args.text_dropout > 0:
        text = layers.Dropout(args.text_dropout, seed=seed + 3, name="text_dropout")(text)
    gated = text * has_text
    fused = layers.Concatenate(name="fusion_concat")([gated, has_text])
    hidden = layers.Dense(args.fusion_units, activation="relu", kernel_initializer=init(6), name="fusion_dense")(fused)
    dropped = layers.Dropout(0.5, seed=seed + 4, name="fusion_dropout")(hidden)
    logits = layers.Dense(K, kernel_initializer=init(7), name="logits")(dropped)
    return keras.Model([tokens, bow_index, bow_value, has_text], logits, name="text_probe")


# ---------------------------------------------------------------- metrics and calibration


def softmax(logits, t=1.0):
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def evaluate(probs, labels):
    """metrics.ts evaluate: accuracy, macro-F1 over the classes present, ECE over 10 equal-width confidence bins."""
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    f1s = []
    for c in range(K):
        support = (labels == c).sum()
        if support == 0:
            continue
        tp = ((pred == c) & (labels == c)).sum()
        predicted = (pred == c).sum()
        p = tp / predicted if predicted else 0.0
        r = tp / support
        f1s.append(0.0 if p + r == 0 else 2 * p * r / (p + r))
    bins = np.clip(np.floor(conf * 10).astype(int), 0, 9)
    ece = 0.0
    for b in range(10):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(conf[sel].mean() - (pred[sel] == labels[sel]).mean())
    return {"n": int(labels.size), "accuracy": float((pred == labels).mean()), "macroF1": float(np.mean(f1s)), "ece": float(ece)}


def mean_nll(logits, labels, t):
    p = softmax(logits, t)
    return float(-np.log(np.maximum(p[np.arange(labels.size), labels], 1e-12)).mean())


def fit_temperature_joint(groups):
    """calibration.ts fitTemperatureJoint: golden-section search of log T in [log 0.05, log 20], mean of each domain's NLL."""
    lo, hi = math.log(0.05), math.log(20)
    g = (math.sqrt(5) - 1) / 2
    f = lambda x: sum(mean_nll(lg, y, math.exp(x)) for lg, y in groups) / len(groups)
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return math.exp((lo + hi) / 2)


def calibrate(dev_logits, dev_labels, effective_weights):
    """calibrate-on-dev.ts: prior correction bias = -lambda ln(w) chosen on dev (mean accuracy + macro-F1 over the
    domains, lambda 0..1.5 step 0.05), then one text temperature fitted jointly over the domains."""
    best = None
    log_w = np.log(np.where(effective_weights > 0, effective_weights, 1.0))
    for step in range(31):
        lam = step * 0.05
        bias = -lam * log_w
        evals = [evaluate(softmax(dev_logits[s] + bias), dev_labels[s]) for s in SOURCES]
        score = np.mean([e["accuracy"] for e in evals]) + np.mean([e["macroF1"] for e in evals])
        if best is None or score > best[0] + 1e-12:
            best = (score, lam)
    lam = best[1]
    bias = -lam * log_w
    t = fit_temperature_joint([(dev_logits[s] + bias, dev_labels[s]) for s in SOURCES])
    return {"lambda": lam, "bias": bias.tolist(), "temperature": t}


# ---------------------------------------------------------------- training


def split_arrays(meta, name):
    s = meta["splits"][name]
    return s["ids"], s["bow"], np.asarray(s["labels"], dtype=np.int64)


def predict_logits(model, ids, bows, waiter, batch_size=256):
    """Logits in length-sorted batches (each padded to its longest text), returned in the input order."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), K), dtype=np.float32)
    for s in range(0, len(order), batch_size):
        waiter.wait()
        part = order[s : s + batch_size]
        x = pad_batch([ids[i] for i in part], [bows[i] for i in part])
        out[part] = model(x, training=False).numpy()
    return out


def dev_record(model, dev, waiter):
    logits = {s: predict_logits(model, dev[s][0], dev[s][1], waiter) for s in SOURCES}
    evals = {s: evaluate(softmax(logits[s]), dev[s][2]) for s in SOURCES}
    score = float(np.mean([evals[s]["accuracy"] + evals[s]["macroF1"] for s in SOURCES]))
    return score, evals, logits


def train(args):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    keras.utils.set_random_seed(args.seed)
    meta, vectors = load_tokens(args.tokens)
    ids, bows, labels, weights, effective, by_source = training_rows(meta, {"goemotions": 1.0, "carer": args.carer_weight}, args.class_weight_power)
    dev = {s: split_arrays(meta, f"{s}_dev") for s in SOURCES}
    model = build_model(args, vectors, meta["bowSize"])
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    log = lambda m: print(f"[{args.name}] {m}", flush=True)
    log(f"{len(labels)} train rows, {trainable} trainable parameters, tensorflow {tf.__version__}")

    rng = np.random.default_rng(args.seed)
    lengths = np.array([len(x) for x in ids])
    waiter = LockWaiter()
    pause = lock_callback(waiter)

    def epoch_batches():
        while True:
            for batch in bucketed_batches(len(ids), lengths, args.batch_size, rng):
                x = pad_batch([ids[i] for i in batch], [bows[i] for i in batch])
                w = weights[batch]
                # trainer.ts divides the weighted loss by the batch's weight sum; Keras divides by the batch size.
                yield x, labels[batch], (w * len(batch) / w.sum()).astype(np.float32)

    spec = (
        {
            "tokens": tf.TensorSpec((None, None), tf.int32),
            "bow_index": tf.TensorSpec((None, None), tf.int32),
            "bow_value": tf.TensorSpec((None, None), tf.float32),
            "has_text": tf.TensorSpec((None, 1), tf.float32),
        },
        tf.TensorSpec((None,), tf.int64),
        tf.TensorSpec((None,), tf.float32),
    )
    # One generator for the whole run: each fit() below (a quarter epoch) continues where the last one stopped, so an
    # epoch is one pass over the rows as in trainer.ts (the one or two prefetched batches a fit() drops are lost).
    batches = epoch_batches()
    dataset = tf.data.Dataset.from_generator(lambda: batches, output_signature=spec).prefetch(2)
    steps_per_epoch = math.ceil(len(ids) / args.batch_size)
    steps_per_eval = math.ceil(steps_per_epoch / args.evals_per_epoch)

    history = []
    best = {"score": -1.0}
    swa = {"count": 0, "weights": None}
    started = time.time()
    evals_done = 0
    for evaluation in range(args.epochs * args.evals_per_epoch):
        fit = model.fit(dataset, epochs=1, steps_per_epoch=steps_per_eval, verbose=0, callbacks=[pause])
        at = round((evaluation + 1) / args.evals_per_epoch, 2)
        score, evals, _ = dev_record(model, dev, waiter)
        evals_done += 1
        rec = {"epoch": at, "loss": float(fit.history["loss"][-1]), "seconds": time.time() - started - waiter.paused, "score": score, "dev": evals}
        history.append(rec)
        improved = False
        if score > best["score"]:
            best = {"score": score, "epoch": at, "averaged": False, "weights": [w.copy() for w in model.get_weights()], "evals": evals_done}
            improved = True
        line = " | ".join(f"{s} acc {evals[s]['accuracy']:.3f} F1 {evals[s]['macroF1']:.3f}" for s in SOURCES)
        log(f"epoch {at}: loss {rec['loss']:.4f} {line} | score {score:.4f} | {rec['seconds']:.0f} s")
        # Snapshot weight averages from --swa-start on are candidates too, as trainer.ts does.
        if args.swa_start is not None and at >= args.swa_start:
            current = model.get_weights()
            if swa["count"] == 0:
                swa["weights"] = [w.copy() for w in current]
            else:
                k = swa["count"]
                swa["weights"] = [a * (k / (k + 1)) + c / (k + 1) for a, c in zip(swa["weights"], current)]
            swa["count"] += 1
            if swa["count"] >= 2:
                model.set_weights(swa["weights"])
                avg_score, avg_evals, _ = dev_record(model, dev, waiter)
                history.append({"epoch": at, "average": swa["count"], "score": avg_score, "dev": avg_evals})
                line = " | ".join(f"{s} acc {avg_evals[s]['accuracy']:.3f} F1 {avg_evals[s]['macroF1']:.3f}" for s in SOURCES)
                log(f"epoch {at} [average of {swa['count']}]: {line} | score {avg_score:.4f}")
                if avg_score > best["score"]:
                    best = {"score": avg_score, "epoch": at, "averaged": True, "weights": [w.copy() for w in swa["weights"]], "evals": evals_done}
                    improved = True
                model.set_weights(current)
        if not improved and evals_done - best["evals"] >= args.patience:
            log(f"early stop: no dev gain for {args.patience} evaluations; keeping epoch {best['epoch']}")
            break
        if args.max_seconds is not None and time.time() - started - waiter.paused > args.max_seconds:
            log(f"time budget of {args.max_seconds} s reached; keeping epoch {best['epoch']}")
            break
    train_seconds = time.time() - started - waiter.paused
    model.set_weights(best["weights"])
    _, raw, dev_logits = dev_record(model, dev, waiter)
    cal = calibrate(dev_logits, {s: dev[s][2] for s in SOURCES}, effective)
    calibrated = {s: evaluate(softmax(dev_logits[s] + np.array(cal["bias"]), cal["temperature"]), dev[s][2]) for s in SOURCES}
    os.makedirs(args.out, exist_ok=True)
    model.save_weights(os.path.join(args.out, "best.weights.h5"))
    summary = {
        "name": args.name,
        "args": vars(args),
        "trainableParameters": trainable,
        "trainSeconds": train_seconds,
        "pausedSeconds": waiter.paused,
        "bestEpoch": best["epoch"],
        "bestIsAverage": best["averaged"],
        "bestScore": best["score"],
        "devRaw": raw,
        "calibration": cal,
        "devCalibrated": calibrated,
        "selectionScoreCalibrated": float(np.mean([calibrated[s]["accuracy"] + calibrated[s]["macroF1"] for s in SOURCES])),
        "history": history,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    line = " | ".join(f"{s} acc {calibrated[s]['accuracy']:.3f} F1 {calibrated[s]['macroF1']:.3f} ECE {calibrated[s]['ece']:.3f}" for s in SOURCES)
    log(f"best epoch {best['epoch']}{' (average)' if best['averaged'] else ''}; calibrated dev (lambda {cal['lambda']:.2f}, T {cal['temperature']:.3f}): {line}")
    log(f"training {train_seconds:.0f} s (+{waiter.paused:.0f} s paused for benchmarks)")


def test(args):
    """Scores the GoEmotions test split with a trained run's weights and its dev-fitted calibration (once per run)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    with open(os.path.join(args.run, "summary.json")) as f:
        summary = json.load(f)
    run_args = argparse.Namespace(**summary["args"])
    meta, vectors = load_tokens(args.tokens)
    model = build_model(run_args, vectors, meta["bowSize"])
    model.load_weights(os.path.join(args.run, "best.weights.h5"))
    ids, bows, labels = split_arrays(meta, "goemotions_test")
    logits = predict_logits(model, ids, bows, LockWaiter())
    cal = summary["calibration"]
    result = {
        "calibrated": evaluate(softmax(logits + np.array(cal["bias"]), cal["temperature"]), labels),
        "raw": evaluate(softmax(logits), labels),
    }
    summary["goemotionsTest"] = result
    with open(os.path.join(args.run, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    c = result["calibrated"]
    print(f"[{summary['name']}] goemotions test (n {c['n']}): accuracy {c['accuracy']:.3f} macro-F1 {c['macroF1']:.3f} ECE {c['ece']:.3f} (raw argmax {result['raw']['accuracy']:.3f} / {result['raw']['macroF1']:.3f})")


EXPORT_MAGIC = b"MSPROBE1"


def write_export_file(path, magic, header, tensors):
    """The file both probes export (scripts/probe-export-file.ts reads it): the 8-byte magic, uint32 little-endian
    header bytes, the UTF-8 JSON header plus its tensor list [{name, shape, offset}], then the float32 little-endian
    data (offsets in floats from the data's start). Returns the number of floats."""
    offset = 0
    entries = []
    for name, value in tensors:
        entries.append({"name": name, "shape": list(value.shape), "offset": offset})
        offset += value.size
    raw = json.dumps({**header, "tensors": entries}).encode("utf-8")
    with open(path, "wb") as f:
        f.write(magic)
        f.write(len(raw).to_bytes(4, "little"))
        f.write(raw)
        for _, value in tensors:
            f.write(np.ascontiguousarray(value, dtype="<f4").tobytes())
    return offset


def export(args):
    """Writes a run's trained weights for scripts/text-probe/import-run.ts, named after buildNetwork's layers
    (network.ts): the tuned word vectors, text_lstm or text_bilstm (forward then backward, each kernel, recurrent
    kernel, bias in Keras's = tfjs's gate order i, f, c, o), text_bow_dense (the sparse kernel as the Dense kernel,
    its bias), fusion_dense's kernel over [text | hasText] (the importer inserts the image rows) and logits. Beside
    them: the run's network settings, its effective class weights (what the text-prior correction undoes) and the
    Keras logits of the GoEmotions dev texts in file order, which the importer compares with the converted network.

    File: magic MSPROBE1, uint32 header bytes, UTF-8 JSON header {settings, classWeights, tensors: [{name, shape,
    offset}]}, then the float32 little-endian data (offsets in floats from the data's start)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    with open(os.path.join(args.run, "summary.json")) as f:
        summary = json.load(f)
    run = argparse.Namespace(**summary["args"])
    if run.rnn not in ("lstm", "bilstm"):
        sys.exit(f"probe export: run {args.run} is a {run.rnn}; network.ts has an LSTM or BiLSTM text tower only")
    if run.no_bow:
        sys.exit(f"probe export: run {args.run} has no n-gram branch; the shipped network has one")
    activation = getattr(run, "recurrent_activation", "sigmoid")
    if activation != "tfjs-hard-sigmoid" and not args.allow_sigmoid:
        sys.exit(
            f"probe export: run {args.run} trained its LSTM gates with {activation}, tfjs/ONNX compute clip(0.2x + 0.5, 0, 1): "
            "retrain with --recurrent-activation tfjs-hard-sigmoid (or pass --allow-sigmoid to export it anyway, for a comparison)"
        )
    meta, vectors = load_tokens(args.tokens)
    _, _, _, _, effective, _ = training_rows(meta, {"goemotions": 1.0, "carer": run.carer_weight}, run.class_weight_power)
    model = build_model(run, vectors, meta["bowSize"])
    model.load_weights(os.path.join(args.run, "best.weights.h5"))

    tensors = []

    def add(name, value):
        tensors.append((name, np.ascontiguousarray(np.asarray(value, dtype=np.float32))))

    add("vocab/vectors", model.get_layer("words").get_weights()[0])
    if run.rnn == "bilstm":
        layer = model.get_layer("text_bilstm")
        for direction, sub in (("forward", layer.forward_layer), ("backward", layer.backward_layer)):
            kernel, recurrent, bias = sub.get_weights()
            add(f"text_bilstm/{direction}/kernel", kernel)
            add(f"text_bilstm/{direction}/recurrent_kernel", recurrent)
            add(f"text_bilstm/{direction}/bias", bias)
    else:
        kernel, recurrent, bias = model.get_layer("text_lstm").get_weights()
        add("text_lstm/kernel", kernel)
        add("text_lstm/recurrent_kernel", recurrent)
        add("text_lstm/bias", bias)
    add("text_bow_dense/kernel", model.get_layer("text_bow_kernel").get_weights()[0])
    # text_bow_bias is a Dense on a zero input: only its bias reaches the output.
    add("text_bow_dense/bias", model.get_layer("text_bow_bias").get_weights()[1])
    kernel, bias = model.get_layer("fusion_dense").get_weights()
    add("fusion_dense/text_kernel", kernel)
    add("fusion_dense/bias", bias)
    kernel, bias = model.get_layer("logits").get_weights()
    add("logits/kernel", kernel)
    add("logits/bias", bias)
    ids, bows, _ = split_arrays(meta, "goemotions_dev")
    add("check/goemotions_dev_logits", predict_logits(model, ids, bows, LockWaiter()))

    header = {
        "format": "moodstream-text-probe-export/1",
        "run": summary["name"],
        "tokensModel": meta["version"],
        "settings": {
            "rnn": run.rnn,
            "units": run.units,
            "recurrentActivation": activation,
            "bowUnits": run.bow_units,
            "fusionUnits": run.fusion_units,
            "textDropout": run.text_dropout,
            "bowDropout": run.bow_dropout,
            "seed": run.seed,
        },
        "classWeights": effective.tolist(),
        "probeCalibration": summary["calibration"],
        "probeDevCalibrated": summary["devCalibrated"],
    }
    offset = write_export_file(args.out, EXPORT_MAGIC, header, tensors)
    print(f"[{summary['name']}] wrote {args.out}: {len(tensors)} tensors, {offset} floats")


def cost(args):
    """Inference cost of trained runs on this machine's native TensorFlow: GoEmotions dev texts in length-sorted
    batches of --batch-size, runs alternated for --rounds, process CPU seconds per 1,000 posts (median). A ratio
    between runs of the same shape of work, not the scorer's (ONNX Runtime) figure. Run it under the bench lock."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    meta, vectors = load_tokens(args.tokens)
    ids, bows, _ = split_arrays(meta, "goemotions_dev")
    models = {}
    for run in args.run:
        with open(os.path.join(run, "summary.json")) as f:
            summary = json.load(f)
        model = build_model(argparse.Namespace(**summary["args"]), vectors, meta["bowSize"])
        model.load_weights(os.path.join(run, "best.weights.h5"))
        predict = tf.function(lambda x, m=model: m(x, training=False), reduce_retracing=True)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches = [pad_batch([ids[i] for i in order[s : s + args.batch_size]], [bows[i] for i in order[s : s + args.batch_size]]) for s in range(0, len(order), args.batch_size)]
        for x in batches:
            predict(x)  # trace every batch shape before timing
        models[summary["name"]] = (predict, batches)
    times = {name: [] for name in models}
    for r in range(args.rounds):
        names = list(models) if r % 2 == 0 else list(reversed(models))
        for name in names:
            predict, batches = models[name]
            c0 = time.process_time()
            for x in batches:
                predict(x)
            times[name].append(1000 * (time.process_time() - c0) / len(ids))
    base = float(np.median(times[list(models)[0]]))
    for name, t in times.items():
        m = float(np.median(t))
        print(f"{name}: {m:.3f} CPU-s per 1,000 posts (median of {args.rounds}: {', '.join(f'{x:.3f}' for x in t)}), x{m / base:.2f} the first run")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one variant, select on dev, calibrate on dev")
    t.add_argument("--tokens", required=True, help="export-tokens.ts output folder")
    t.add_argument("--out", required=True, help="run folder (best.weights.h5, summary.json)")
    t.add_argument("--name", default="probe")
    t.add_argument("--rnn", choices=["lstm", "bilstm", "cnn"], default="lstm")
    t.add_argument("--units", type=int, default=64, help="LSTM units (per direction) or CNN filters per width")
    t.add_argument(
        "--recurrent-activation",
        choices=["sigmoid", "tfjs-hard-sigmoid"],
        default="sigmoid",
        help="LSTM gate activation; tfjs-hard-sigmoid = clip(0.2x + 0.5, 0, 1), what the converted tfjs/ONNX network computes",
    )
    t.add_argument("--trainable-embedding", action="store_true")
    t.add_argument("--embedding-dropout", type=float, default=0.0, help="spatial dropout on the word vectors")
    t.add_argument("--no-bow", action="store_true", help="leave out the n-gram branch")
    t.add_argument("--bow-units", type=int, default=64)
    t.add_argument("--bow-dropout", type=float, default=0.5)
    t.add_argument("--text-dropout", type=float, default=0.3)
    t.add_argument("--fusion-units", type=int, default=1024)
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--evals-per-epoch", type=int, default=4)
    t.add_argument("--patience", type=int, default=5)
    t.add_argument("--swa-start", type=float, default=1.0)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--learning-rate", type=float, default=1e-3)
    t.add_argument("--class-weight-power", type=float, default=0.3)
    t.add_argument("--carer-weight", type=float, default=1.25)
    t.add_argument("--max-seconds", type=float, default=None)
    t.add_argument("--seed", type=int, default=1234)
    t.add_argument("--threads", type=int, default=2)
    s = sub.add_parser("test", help="score the GoEmotions test split with a trained run (its dev calibration)")
    s.add_argument("--tokens", required=True)
    s.add_argument("--run", required=True)
    s.add_argument("--threads", type=int, default=2)
    e = sub.add_parser("export", help="write a trained run's weights for scripts/text-probe/import-run.ts")
    e.add_argument("--tokens", required=True)
    e.add_argument("--run", required=True)
    e.add_argument("--out", required=True, help="the export file (e.g. RUN/export.bin)")
    e.add_argument("--allow-sigmoid", action="store_true", help="export a run trained with sigmoid gates (its tfjs logits will differ)")
    e.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("cost", help="CPU time per 1,000 dev posts of trained runs, alternated (the first run is the baseline)")
    c.add_argument("--tokens", required=True)
    c.add_argument("--run", action="append", required=True, help="a run folder (repeat; the first is the baseline)")
    c.add_argument("--batch-size", type=int, default=32)
    c.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.command == "train":
        for name in ("embedding_dropout", "bow_dropout", "text_dropout"):
            if not 0 <= getattr(args, name) < 1:
                parser.error(f"--{name.replace('_', '-')} must be in [0, 1)")
        train(args)
    elif args.command == "test":
        test(args)
    elif args.command == "export":
        export(args)
    else:
        cost(args)


if __name__ == "__main__":
    main()
