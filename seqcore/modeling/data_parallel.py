"""Training steps split over the CPU's cores as independent XLA programs (JAX backend, CPU only).

XLA runs one recurrent training step as a long chain of small operations, one time step after another,
and on a CPU most of them stay on one core. This module splits each training batch into one slice per
core and runs the same jitted gradient program on every slice at once, each on its own JAX CPU device
(``--xla_force_host_platform_device_count``, set by :func:`configure_devices` before JAX starts). The
slices' gradients, weighted by their share of the batch, are summed on the first device, which applies
the optimizer and updates the metrics on the whole batch. There are no collectives (XLA:CPU's all-reduce
rendezvous deadlocks when the programs outnumber free threads on a small machine): JAX's asynchronous
dispatch is what runs the programs side by side.

The result is the same training as one program on the whole batch, up to float rounding: the loss is a
mean over the batch (Keras's ``sum_over_batch_size``), so the size-weighted sum of the slices' mean-loss
gradients is the whole batch's gradient; clipping and Adam see that sum. Dropout draws from a different
seed on every slice. Models whose training forward pass depends on batch statistics (batch normalisation)
keep the single program, as do models with more than one output, more than ``MAX_SPLIT_PARAMS`` weights
(each step copies them to every device: a text model's word table), a loss-scaling optimizer, a GPU, the
TensorFlow backend, ``SEQSTUDIO_DATA_PARALLEL=off`` or a machine with one core.

A batch too small to split (under ``2 * MIN_SLICE`` windows, the default batch of 32) loses more to the
extra dispatches than the slices gain; there the cost is Keras's per-step work around a short program, so
:class:`ScannedTrainStep` runs :data:`SCAN_STEPS` of Keras's own training steps in one compiled program
(``lax.scan`` over the batches stacked) while ``model.fit`` runs, the same steps in the same order.

``python bench/speed.py`` races both against plain ``model.fit`` and PyTorch (bench/RESULTS.md).
"""

from __future__ import annotations

import os

ENV = "SEQSTUDIO_DATA_PARALLEL"   # "auto" (default), "off", or a number of slices (seqcore.settings)
MAX_DEVICES = 8                   # CPU devices set up for JAX (at most this many slices)
SCAN_STEPS = 16                   # training steps per program where batches are not split
MAX_SPLIT_PARAMS = 250_000        # weights copied to every slice's device each step: above this the copies
                                  # cost more than the split gains (a text model with a 20,000-word table,
                                  # 1.3M weights, trained 1.7x slower split at batch 64; 41k weights: even)
MIN_SLICE = 32                    # windows per slice, at least: smaller slices lose more to the extra dispatches
                                  # than they gain (bench: batch 32 in one program, 64 in two slices)
_FORCE_FLAG = "--xla_force_host_platform_device_count"


def _setting() -> int | None:
    """None: one slice per core; else the number of slices asked for (1: off). A bad value raises
    :class:`~seqcore.errors.SettingsError` naming the variable."""
    from seqcore import settings

    return settings.data_parallel()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def configure_devices() -> int:
    """Ask JAX (not yet started) for one CPU device per usable core, up to :data:`MAX_DEVICES` and to the
    threads this process was given (a worker's share when several train at once).

    Call before JAX is imported; a no-op when the setting is ``off``, with one core, or when
    ``XLA_FLAGS`` already names a device count. Returns the count asked for (1: nothing set)."""
    import sys

    setting = _setting()
    if setting == 1 or "jax" in sys.modules:
        return 1
    flags = os.environ.get("XLA_FLAGS", "")
    if _FORCE_FLAG in flags:
        return 1
    n = usable_cores() if setting is None else setting
    budget = os.environ.get("TF_NUM_INTRAOP_THREADS", "")   # this process's share of the cores
    if budget.isdigit() and int(budget) > 0:                 # (training.configure_threads: a worker's)
        n = min(n, int(budget))
    n = max(1, min(n, MAX_DEVICES))
    if n > 1:
        os.environ["XLA_FLAGS"] = f"{flags} {_FORCE_FLAG}={n}".strip()
    return n


def slices_for(batch_size: int, devices: int) -> int:
    """How many slices a batch of ``batch_size`` is cut into over ``devices`` CPU devices."""
    setting = _setting()
    return _split(batch_size, devices if setting is None else min(devices, setting))


def _split(batch_size: int, devices: int) -> int:
    """Slices for a batch over at most ``devices``: none smaller than :data:`MIN_SLICE`, at least one."""
    return max(1, min(devices, batch_size // MIN_SLICE))


def _take(iterator, k: int) -> list:
    """The next batch and up to ``k - 1`` more (fewer at the end of an epoch); StopIteration when none is
    left, which ends the epoch as in Keras."""
    batches = [next(iterator)]
    try:
        while len(batches) < k:
            batches.append(next(iterator))
    except StopIteration:
        pass
    return batches


def why_not(model) -> str | None:
    """None when ``model`` (compiled) can train data-parallel here, else the reason it cannot."""
    import keras

    if keras.backend.backend() != "jax":
        return "backend"
    import jax

    if jax.default_backend() != "cpu":
        return "accelerator"
    if len(jax.devices("cpu")) < 2:
        return "one device"
    if len(model.outputs) != 1:
        return "several outputs"
    if isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer):
        return "loss scaling"
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            return "batch normalisation"
    if model.count_params() > MAX_SPLIT_PARAMS:
        return "large weights"
    return None


def _scannable(model) -> bool:
    """Whether several training steps may run in one program (:class:`ScannedTrainStep`): JAX on a CPU,
    the model compiled with one step per call, and the setting not ``off``."""
    import keras

    if keras.backend.backend() != "jax" or _setting() == 1 or int(model.steps_per_execution) != 1:
        return False
    import jax

    return jax.default_backend() == "cpu"


def install(model, batch_size: int) -> int:
    """Make ``model`` (compiled) train faster on a CPU where it can; returns the slices per batch.

    Batches of at least ``2 * MIN_SLICE`` windows are split over the cores (:class:`SlicedTrainStep`);
    smaller ones run :data:`SCAN_STEPS` training steps per compiled program (:class:`ScannedTrainStep`)
    while ``model.fit`` runs over enough batches. Returns 1 when batches are not split."""
    n = 1
    if why_not(model) is None:
        import jax

        devices = jax.devices("cpu")
        n = slices_for(batch_size, len(devices))
    if n >= 2:
        def new_step():
            return SlicedTrainStep(model, devices[:n])
    elif _scannable(model):
        def new_step():
            return ScannedTrainStep(model)

        plain_fit = model.fit

        def fit(*args, **kwargs):
            # several steps per call only while fitting (evaluate / predict keep one batch per call), and
            # only over enough batches to repay compiling the longer program
            batches = _batches(args[0] if args else kwargs.get("x"), kwargs.get("batch_size") or batch_size)
            if batches < 2 * SCAN_STEPS:
                return plain_fit(*args, **kwargs)
            model.steps_per_execution = SCAN_STEPS
            try:
                return plain_fit(*args, **kwargs)
            finally:
                model.steps_per_execution = 1

        model.fit = fit
        model._seqstudio_scans = True
    else:
        return 1

    def make_train_function(force: bool = False):
        if model.train_function is None or force:
            model.train_function = new_step()

    model.make_train_function = make_train_function
    model.train_function = None
    return n


def warm_batches(model, batches: int) -> int:
    """Batches a compile-ahead fit (``pipeline.prewarm``) should train on so that the programs the real
    fit over ``batches`` batches runs are all compiled: the 16-step group where it scans, else one."""
    if getattr(model, "_seqstudio_scans", False) and batches >= 2 * SCAN_STEPS:
        return 2 * SCAN_STEPS
    return 1


def _batches(x, batch_size: int) -> int:
    """Batches per epoch of what ``model.fit`` was given (0 when unknown)."""
    try:
        import keras

        if isinstance(x, keras.utils.PyDataset):
            return len(x)
        import jax

        leaves = jax.tree.leaves(x)
        return -(-int(leaves[0].shape[0]) // max(1, int(batch_size))) if leaves else 0
    except (TypeError, AttributeError, IndexError):
        return 0


class ScannedTrainStep:
    """A Keras JAX ``train_function`` running up to ``model.steps_per_execution`` training steps in one
    compiled program (``lax.scan`` of Keras's own ``train_step`` over the batches stacked), so the per-step
    dispatch and callback work is paid once per group; exactly the same steps as one call per batch.
    Groups of fewer batches, or of batches of different sizes (an epoch's end), run one step per call."""

    def __init__(self, model):
        import jax

        self.model = model
        step = model.train_step

        def multi(state, stacked):
            def body(st, data):
                logs, st = step(st, data)
                return st, logs

            state, logs = jax.lax.scan(body, state, stacked)
            return jax.tree.map(lambda a: a[-1], logs), state

        self._multi = jax.jit(multi, donate_argnums=0)
        self._single = jax.jit(step, donate_argnums=0)

    def __call__(self, state, iterator):
        import jax
        import numpy as np

        k = int(self.model.steps_per_execution)
        batches = _take(iterator, k)
        shapes = {tuple((np.shape(a), np.asarray(a).dtype.str) for a in jax.tree.leaves(b)) for b in batches}
        if len(batches) > 1 and len(batches) == k and len(shapes) == 1:
            return self._multi(state, jax.tree.map(lambda *a: np.stack(a), *batches))
        logs = None
        for data in batches:
            logs, state = self._single(state, data)
        return logs, state


class SlicedTrainStep:
    """A Keras JAX ``train_function``: ``(state, iterator) -> (logs, state)``, one batch split over devices."""

    def __init__(self, model, devices):
        import jax

        self.model = model
        self.devices = list(devices)
        self.spe = int(model.steps_per_execution)
        seeds = [i for i, v in enumerate(model.non_trainable_variables)
                 if "seed_generator" in v.path and "int" in str(v.dtype)]
        self._seeds = tuple(seeds)
        self._grad = jax.jit(self._grad_impl, static_argnums=(0,))
        self._apply = jax.jit(self._apply_impl, donate_argnums=(0, 1, 2))

    # -- the programs -----------------------------------------------------------------------------------
    def _grad_impl(self, index: int, trainable, non_trainable, metrics_vars, x, y, sw, weight):
        """One slice: (weighted gradients, weighted loss, predictions, non-trainable state after)."""
        import jax
        import jax.numpy as jnp

        model = self.model
        if index and self._seeds:
            # another dropout stream per slice (slice 0 keeps the model's own, as one program would)
            non_trainable = list(non_trainable)
            for k in self._seeds:
                s = non_trainable[k]
                non_trainable[k] = s + jnp.asarray([(index * 0x9E3779B1) % 2**31, 0], dtype=s.dtype)

        def loss_fn(tv):
            kwargs = {"training": True} if model._call_has_training_arg else {}
            y_pred, ntv, losses = model.stateless_call(tv, non_trainable, x, return_losses=True, **kwargs)
            if losses:
                model._losses_override.clear()
                model._losses_override = losses
            loss, (_, ntv2, _) = model.stateless_compute_loss(tv, ntv, metrics_vars, x=x, y=y, y_pred=y_pred,
                                                              sample_weight=sw, training=True)
            if losses:
                model._losses_override.clear()
            return loss, (y_pred, ntv2)

        (loss, (y_pred, ntv)), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
        grads = jax.tree.map(lambda g: g * weight, grads)
        return grads, loss * weight, y_pred, ntv

    def _apply_impl(self, trainable, optimizer_vars, metrics_vars, outs, x, y, sw):
        import jax
        import jax.numpy as jnp

        model = self.model
        grads = jax.tree.map(lambda *g: sum(g[1:], g[0]), *[o[0] for o in outs])
        loss = sum((o[1] for o in outs[1:]), outs[0][1])
        y_pred = jax.tree.map(lambda *p: jnp.concatenate(p, axis=0), *[o[2] for o in outs])
        trainable, optimizer_vars = model.optimizer.stateless_apply(optimizer_vars, grads, trainable)
        logs, metrics_vars = model._update_metrics_variables(metrics_vars, loss, x, y, y_pred, sw)
        return logs, trainable, optimizer_vars, metrics_vars, outs[0][3]

    # -- one step ---------------------------------------------------------------------------------------
    def step(self, state, data):
        import jax
        import numpy as np
        from keras.src.trainers.data_adapters import data_adapter_utils

        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, y, sw = data_adapter_utils.unpack_x_y_sample_weight(data)
        n = int(np.shape(jax.tree.leaves(x)[0])[0])
        k = _split(n, len(self.devices))
        bounds = np.linspace(0, n, k + 1).round().astype(int)
        outs = []
        for i in range(k):
            lo, hi = int(bounds[i]), int(bounds[i + 1])
            part = jax.tree.map(lambda a: a[lo:hi], (x, y, sw))
            weight = np.float32((hi - lo) / n)
            if i == 0:
                args = (trainable, non_trainable, metrics_vars) + part
            else:   # the slice and the current weights onto this slice's device, in one transfer
                args = jax.device_put((trainable, non_trainable, metrics_vars) + part, self.devices[i])
            outs.append(self._grad(i, *args, weight))
        outs = [outs[0]] + [jax.device_put(o, self.devices[0]) for o in outs[1:]]
        logs, trainable, optimizer_vars, metrics_vars, non_trainable = self._apply(
            trainable, optimizer_vars, metrics_vars, tuple(outs), x, y, sw)
        return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)

    def __call__(self, state, iterator):
        logs = None
        for data in _take(iterator, self.spe):
            logs, state = self.step(state, data)
        return logs, state
