"""Train under ``tf.distribute.MirroredStrategy`` on two logical CPUs; record the LRs used.

Run as ``KERAS_BACKEND=tensorflow python tests/keras_cases/mirrored_probe.py OUT.json``:
the two logical devices must be configured before TensorFlow initializes, so this runs in
its own process; ``tests/test_adapter_keras.py`` checks the numbers against the core.

The LR of every update is recorded exactly with one-hot SGD, as in ``fit_probe.py``, with a
global batch of two rows: update k sees rows e_2k and e_2k+1, one on each replica. Each
replica's gradient is its own row, and the all-reduce of the two adds no other entry, so
update k moves weights 2k and 2k+1, and only them, by -lr_k each.

Keras's ``jit_compile="auto"`` turns XLA off under ``tf.distribute`` (and on CPU-only
machines), and an explicit ``jit_compile=True`` fails here whatever the learning rate: XLA
cannot reach the variables mirrored on the other device (TensorFlow's XLA known issue
"tf.Variable on a different device"). So the fits run as ``"auto"`` resolves, a plain
``tf.function``, and one float-LR fit records that failure.

Only the standard library is imported at module level (see ``fit_probe.py``).
"""

from __future__ import annotations

import json
import os
import sys

REPLICAS = 2


def main(out_path: str) -> None:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(REPLICAS)]
    )
    import keras
    import numpy as np

    import lrsched
    from lrsched.adapters.keras import KerasSchedule, PlateauCallback, ScheduleCallback

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from keras_fit_cases import MIRRORED_CASES, MIRRORED_PLATEAU

    assert keras.backend.backend() == "tensorflow"
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(REPLICAS)])
    assert strategy.num_replicas_in_sync == REPLICAS

    def one_hot_fit(learning_rate, steps, start, jit, callbacks=()):
        """Per update: the movement of its two weights, and the History logs."""
        rows = REPLICAS * steps
        with strategy.scope():
            model = keras.Sequential(
                [
                    keras.Input((rows,)),
                    keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                loss=lambda y_true, y_pred: keras.ops.mean(y_pred),
                jit_compile=jit,
            )
            if start:
                model.optimizer.build(model.trainable_variables)
                model.optimizer.iterations.assign(start)
        assert model.distribute_strategy is strategy
        run = {"jit_compile": model.jit_compile}
        history = model.fit(
            np.eye(rows, dtype="float32"),
            np.zeros((rows, 1), "float32"),
            batch_size=REPLICAS,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=list(callbacks),
        )
        run["history"] = {key: list(map(float, v)) for key, v in history.history.items()}
        weights = keras.ops.convert_to_numpy(model.layers[0].kernel)[:, 0].reshape(-1, REPLICAS)
        run["moves"] = (-weights).tolist()
        run["iterations"] = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        return run

    results = {"replicas": strategy.num_replicas_in_sync, "fits": {}, "callback_fits": {}}
    for name, case in MIRRORED_CASES.items():
        schedule = KerasSchedule(case.schedule, max_steps=case.max_steps)
        results["fits"][name] = one_hot_fit(schedule, case.steps, case.start, "auto")
        callback = ScheduleCallback(case.schedule)
        results["callback_fits"][name] = one_hot_fit(
            0.5, case.steps, case.start, "auto", callbacks=[callback]
        )
    results["plateau"] = plateau_run(
        keras, np, lrsched, strategy, PlateauCallback, MIRRORED_PLATEAU, "auto"
    )
    try:
        one_hot_fit(0.5, 2, 0, True)
    except tf.errors.InvalidArgumentError as error:
        results["xla_float_lr_error"] = str(error)
    with open(out_path, "w") as handle:
        json.dump(results, handle)


def plateau_run(keras, np, lrsched, strategy, PlateauCallback, plateau, jit):
    """A small regression under the strategy, its float LR driven by PlateauCallback."""
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(64, 3)).astype("float32")
    targets = (inputs @ np.array([[1.0], [-2.0], [0.5]]) + rng.normal(size=(64, 1))).astype(
        "float32"
    )

    class EpochLearningRates(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.lrs = []

        def on_epoch_begin(self, epoch, logs=None):
            rate = self.model.optimizer.learning_rate
            self.lrs.append(float(keras.ops.convert_to_numpy(rate)))

    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)]
        )
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse", jit_compile=jit
        )
    recorder = EpochLearningRates()
    history = model.fit(
        inputs,
        targets,
        epochs=10,
        batch_size=16,
        shuffle=False,
        verbose=0,
        callbacks=[PlateauCallback(plateau, monitor="loss"), recorder],
    )
    return {
        "jit_compile": model.jit_compile,
        "losses": list(map(float, history.history["loss"])),
        "logged_lrs": list(map(float, history.history["learning_rate"])),
        "lrs": recorder.lrs,
    }


if __name__ == "__main__":
    main(sys.argv[1])
