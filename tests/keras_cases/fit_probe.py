"""Train real Keras models with lrsched schedules and record the learning rates they used.

Run as ``KERAS_BACKEND=jax python tests/keras_cases/fit_probe.py OUT.json`` (Keras picks its
backend at import, so each backend needs its own process); ``tests/test_adapter_keras.py``
runs it and checks the recorded numbers against the core. Under jax and tensorflow every
fit uses ``jit_compile=True`` (XLA), so the schedule runs traced; tensorflow also runs the
fit cases with ``jit_compile=False`` (a plain ``tf.function``); torch runs eagerly.

How the LR an update used is recorded exactly: a bias-free Dense(1) layer with zero weights
sees one-hot inputs, step k's input being e_k, and the loss is its output. The gradient of
update k is then e_k, so plain SGD leaves w_k = 0 - lr_k * 1 = -lr_k, bit for bit, and
touches no other weight: after the fit, -w is the LR of every update.

Only the standard library is imported at module level: pytest's doctest collection imports
this file in the main test process, which must not pick a Keras backend.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile


def main(out_path: str, mode: str = "fits") -> None:
    import keras
    import numpy as np

    import lrsched
    from lrsched.adapters.keras import KerasSchedule, PlateauCallback, ScheduleCallback

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from keras_fit_cases import (
        FIT_CASES,
        PAST_END_CASE,
        PRODUCT_RESUME_CASE,
        RESUME_CASE,
        TORCH_JIT_CASES,
        USER_FUNCTION_CASES,
    )

    backend = keras.backend.backend()
    traced = backend in ("jax", "tensorflow")

    def one_hot_fit(
        learning_rate, steps, start=0, callbacks=(), jit=traced, history=None, failed=None
    ):
        """The LR of each of ``steps`` SGD updates (from iteration ``start``), as floats.

        With ``failed`` (a dict), an error from the fit is recorded there with the weights
        it left (the LRs of the updates that ran, 0 for the others) instead of raised.
        """
        model = keras.Sequential(
            [
                keras.Input((steps,)),
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
        inputs = np.eye(steps, dtype="float32")
        assert model.jit_compile == jit

        def used():
            return [float(v) for v in -keras.ops.convert_to_numpy(model.layers[0].kernel)[:, 0]]

        try:
            fitted = model.fit(
                inputs,
                np.zeros((steps, 1), "float32"),
                batch_size=1,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=list(callbacks),
            )
        except Exception as error:
            if failed is None:
                raise
            failed.update(type=type(error).__name__, message=str(error), lrs=used())
            return None
        if history is not None:
            history.update(fitted.history)
        return used()

    if mode == "torch_jit":
        # Keras's torch backend with jit_compile=True: the train step runs under
        # torch.compile. Every fit compiles anew (about 20 s on CPU), so a few cases only.
        results = {"backend": backend, "fits": {}}
        cases = {**{name: FIT_CASES[name] for name in TORCH_JIT_CASES}, **USER_FUNCTION_CASES}
        for name, case in cases.items():
            schedule = KerasSchedule(case.schedule, max_steps=case.max_steps)
            results["fits"][name] = one_hot_fit(schedule, case.steps, case.start, jit=True)
        with open(out_path, "w") as handle:
            json.dump(results, handle)
        return

    results = {
        "backend": backend,
        "traced": traced,
        "fits": {},
        "callback_fits": {},
        "refused": {},
        "histories": {},
    }
    for name, case in FIT_CASES.items():
        schedule = KerasSchedule(case.schedule, max_steps=case.max_steps)
        failed = {}
        results["fits"][name] = one_hot_fit(schedule, case.steps, case.start, failed=failed)
        if failed:  # XLA on tensorflow: user functions past the table
            results["refused"][name] = failed
    if backend == "tensorflow":
        results["fits_without_jit"] = {
            name: one_hot_fit(
                KerasSchedule(case.schedule, max_steps=case.max_steps),
                case.steps,
                case.start,
                jit=False,
            )
            for name, case in FIT_CASES.items()
        }
    # User functions across the end of the table, compiled (traced) and not.
    results["user_functions"] = {}
    for jit in (True, False) if backend == "tensorflow" else (traced,):
        for name, case in USER_FUNCTION_CASES.items():
            failed = {}
            lrs = one_hot_fit(
                KerasSchedule(case.schedule, max_steps=case.max_steps),
                case.steps,
                case.start,
                jit=jit,
                failed=failed,
            )
            results["user_functions"][f"{name}/jit={jit}"] = failed or {"lrs": lrs}
    for name in ("warmup_cosine", "cyclic", "lambda_lr", "multiplicative"):
        case = FIT_CASES[name]
        history = results["histories"][name] = {}
        results["callback_fits"][name] = one_hot_fit(
            0.5, case.steps, callbacks=[ScheduleCallback(case.schedule)], history=history
        )

    if traced:
        # Keras's own staircase next to KerasSchedule of the same schedule, under XLA.
        keras_own = keras.optimizers.schedules.ExponentialDecay(1.0, 107, 0.5, staircase=True)
        results["staircase_keras"] = one_hot_fit(keras_own, 110)
        results["staircase_lrsched"] = one_hot_fit(
            KerasSchedule(lrsched.step(1.0, step_size=107, gamma=0.5), max_steps=109), 110
        )

    # Up to max_steps the table serves; past it the schedule itself, in the same fit.
    past_end = KerasSchedule(PAST_END_CASE.schedule, max_steps=PAST_END_CASE.max_steps)
    results["past_end"] = one_hot_fit(past_end, PAST_END_CASE.steps)

    results["errors"] = {}
    try:
        one_hot_fit(
            KerasSchedule(lrsched.constant(0.1)),
            4,
            callbacks=[ScheduleCallback(lrsched.constant(0.2))],
        )
    except TypeError as error:
        results["errors"]["schedule_callback_on_schedule"] = str(error)
    try:
        one_hot_fit(0.1, 4, callbacks=[PlateauCallback(lrsched.plateau(0.1), monitor="val_los")])
    except ValueError as error:
        results["errors"]["plateau_missing_metric"] = str(error)

    results["resume"] = resume_run(keras, np, lrsched, KerasSchedule, traced)
    results["plateau"] = plateau_runs(keras, np, lrsched, PlateauCallback, traced)
    if traced:
        results["resume_points"] = resume_at_points(keras, np, KerasSchedule, RESUME_CASE)
    if backend == "tensorflow":
        results["product_resume_points"] = resume_at_points(
            keras, np, KerasSchedule, PRODUCT_RESUME_CASE
        )

    with open(out_path, "w") as handle:
        json.dump(results, handle)


def regression_data(np, samples=64):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(samples, 3)).astype("float32")
    targets = inputs @ np.array([[1.0], [-2.0], [0.5]]) + rng.normal(size=(samples, 1))
    return inputs, targets.astype("float32")


def small_model(keras):
    return keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)]
    )


class LearningRateRecorder:
    """Factory for a callback recording the optimizer's LR before each batch."""

    @staticmethod
    def make(keras, np):
        class Recorder(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.lrs, self.steps, self.epoch_lrs, self.batch_losses = [], [], [], []

            def on_train_batch_begin(self, batch, logs=None):
                optimizer = self.model.optimizer
                self.steps.append(int(keras.ops.convert_to_numpy(optimizer.iterations)))
                self.lrs.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))

            def on_train_batch_end(self, batch, logs=None):
                self.batch_losses.append(float(logs["loss"]))

            def on_epoch_begin(self, epoch, logs=None):
                optimizer = self.model.optimizer
                self.epoch_lrs.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))

        return Recorder()


def resume_run(keras, np, lrsched, KerasSchedule, traced):
    """Train 6 epochs straight, and 3 + save + load_model + 3; return both weight sets."""
    schedule = lrsched.warmup(lrsched.cosine(0.01, total_steps=40, min_lr=0.001), steps=5)
    inputs, targets = regression_data(np)
    keras.utils.set_random_seed(0)
    initial = small_model(keras).get_weights()

    def compiled():
        model = small_model(keras)
        model.set_weights(initial)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=KerasSchedule(schedule)),
            loss="mse",
            jit_compile=traced,
        )
        return model

    fit = dict(batch_size=8, shuffle=False, verbose=0)
    straight = compiled()
    straight.fit(inputs, targets, epochs=6, **fit)

    first = compiled()
    first.fit(inputs, targets, epochs=3, **fit)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.keras")
        first.save(path)
        del first
        loaded = keras.models.load_model(path)  # no custom_objects
    recorder = LearningRateRecorder.make(keras, np)
    loaded.fit(inputs, targets, epochs=6, initial_epoch=3, callbacks=[recorder], **fit)
    restored = loaded.optimizer._learning_rate
    return {
        "straight": [w.tolist() for w in straight.get_weights()],
        "resumed": [w.tolist() for w in loaded.get_weights()],
        "restored_type": type(restored).__name__,
        "restored_schedule": repr(getattr(restored, "schedule", None)),
        "schedule": repr(schedule),
        "steps": recorder.steps,
        "lrs": recorder.lrs,
    }


def resume_at_points(keras, np, KerasSchedule, case):
    """One uninterrupted jit-compiled run that saves a .keras file after update k for each k
    in ``case.points``; each file is loaded and trained to the end.

    The one-hot SGD of the fit cases records the LR of every update in the weights, so a
    resumed run's LRs are its final weights: the ones before k come from the file, the
    rest from training after load_model. Data comes from a generator over one-hot rows,
    restarted at row k when resuming mid-epoch: the rest of that epoch first, then the
    remaining epochs with ``initial_epoch`` (from a generator of their own), as a user
    resumes from a mid-epoch checkpoint.
    """
    steps = case.steps
    rows = np.eye(steps, dtype="float32")

    def batches(start):
        for row in range(start, steps):
            yield rows[row : row + 1], np.zeros((1, 1), "float32")

    def lrs_of(model):
        return [float(v) for v in -keras.ops.convert_to_numpy(model.layers[0].kernel)[:, 0]]

    # The loss of the one-hot fits, registered so that load_model can rebuild it.
    @keras.saving.register_keras_serializable(package="lrsched_probe")
    def mean_output(y_true, y_pred):
        return keras.ops.mean(y_pred)

    class SaveAt(keras.callbacks.Callback):
        def __init__(self, folder):
            super().__init__()
            self.folder, self.saved = folder, {}

        def on_train_batch_end(self, batch, logs=None):
            model = self.model  # under jax this syncs the traced state into the variables
            done = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
            if done in case.points:
                self.saved[done] = os.path.join(self.folder, f"after_{done}.keras")
                model.save(self.saved[done])

    fit = dict(steps_per_epoch=case.steps_per_epoch, shuffle=False, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        model = keras.Sequential(
            [
                keras.Input((steps,)),
                keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.SGD(
                learning_rate=KerasSchedule(case.schedule, max_steps=case.max_steps)
            ),
            loss=mean_output,
            jit_compile=True,
        )
        saver = SaveAt(folder)
        model.fit(batches(0), epochs=case.epochs, callbacks=[saver], **fit)
        runs = {"straight": lrs_of(model), "resumed": {}}
        for point, path in sorted(saver.saved.items()):
            loaded = keras.models.load_model(path)  # no custom_objects
            assert loaded.jit_compile
            restored = int(keras.ops.convert_to_numpy(loaded.optimizer.iterations))
            epoch, batch = divmod(point, case.steps_per_epoch)
            if batch:
                loaded.fit(
                    batches(point),
                    epochs=1,
                    steps_per_epoch=case.steps_per_epoch - batch,
                    shuffle=False,
                    verbose=0,
                )
                epoch += 1
            if epoch < case.epochs:
                # A new generator: tensorflow's fit reads one batch ahead, so the first
                # fit may have taken a row from the old one that it never trained on.
                data = batches(epoch * case.steps_per_epoch)
                loaded.fit(data, epochs=case.epochs, initial_epoch=epoch, **fit)
            schedule = loaded.optimizer._learning_rate
            runs["resumed"][str(point)] = {
                "restored_iterations": restored,
                "restored": repr(schedule),
                "lrs": lrs_of(loaded),
            }
    return runs


def plateau_runs(keras, np, lrsched, PlateauCallback, traced):
    """Float-LR SGD driven by PlateauCallback: per epoch on val_loss, per batch on loss."""
    inputs, targets = regression_data(np)
    runs = {}
    settings = {
        "epoch": (
            lrsched.plateau(0.05, patience=1, factor=0.5, threshold=0.1),
            "val_loss",
            "epoch",
        ),
        "step": (
            lrsched.plateau(
                lrsched.cosine(0.05, total_steps=40, min_lr=0.005),
                patience=0,
                factor=0.5,
                threshold=0.05,
            ),
            "loss",
            "step",
        ),
    }
    for name, (plateau, monitor, interval) in settings.items():
        keras.utils.set_random_seed(1)
        model = small_model(keras)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse", jit_compile=traced
        )
        recorder = LearningRateRecorder.make(keras, np)
        callback = PlateauCallback(plateau, monitor=monitor, interval=interval)
        history = model.fit(
            inputs[:48],
            targets[:48],
            validation_data=(inputs[48:], targets[48:]),
            epochs=12,
            batch_size=16,
            shuffle=False,
            verbose=0,
            callbacks=[callback, recorder],
        )
        runs[name] = {
            "logged_lrs": history.history["learning_rate"],
            "plateau": plateau.to_config(),
            "metrics": (
                [float(v) for v in history.history[monitor]]
                if interval == "epoch"
                else recorder.batch_losses
            ),
            "lrs": recorder.epoch_lrs if interval == "epoch" else recorder.lrs,
            "final_state": callback.state.to_dict(),
        }
    return runs


if __name__ == "__main__":
    main(*sys.argv[1:])
