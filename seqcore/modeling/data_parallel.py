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
keep the single program, as do models with more than one output, a loss-scaling optimizer, a GPU, the
TensorFlow backend, ``SEQSTUDIO_DATA_PARALLEL=off`` or a machine with one core.

``python bench/speed.py`` races it against plain ``model.fit`` and PyTorch (bench/RESULTS.md).
"""

from __future__ import annotations

import os

ENV = "SEQSTUDIO_DATA_PARALLEL"   # "auto" (default), "off", or a number of slices
MAX_DEVICES = 8                   # CPU devices set up for JAX (at most this many slices)
MIN_SLICE = 32                    # windows per slice, at least: smaller slices lose more to the extra dispatches
                                  # than they gain (bench: batch 32 in one program, 64 in two slices)
_FORCE_FLAG = "--xla_force_host_platform_device_count"


def _setting() -> str:
    return (os.environ.get(ENV, "auto") or "auto").strip().lower()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def configure_devices() -> int:
    """Ask JAX (not yet started) for one CPU device per usable core, up to :data:`MAX_DEVICES`.

    Call before JAX is imported; a no-op when the setting is ``off``, with one core, or when
    ``XLA_FLAGS`` already names a device count. Returns the count asked for (1: nothing set)."""
    import sys

    setting = _setting()
    if setting in ("off", "0", "1", "false", "no") or "jax" in sys.modules:
        return 1
    flags = os.environ.get("XLA_FLAGS", "")
    if _FORCE_FLAG in flags:
        return 1
    n = usable_cores()
    if setting.isdigit():
        n = int(setting)
    n = max(1, min(n, MAX_DEVICES))
    if n > 1:
        os.environ["XLA_FLAGS"] = f"{flags} {_FORCE_FLAG}={n}".strip()
    return n


def slices_for(batch_size: int, devices: int) -> int:
    """How many slices a batch of ``batch_size`` is cut into over ``devices`` CPU devices."""
    setting = _setting()
    if setting in ("off", "0", "1", "false", "no"):
        return 1
    n = devices if not setting.isdigit() else min(devices, int(setting))
    return max(1, min(n, batch_size // MIN_SLICE))


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
    return None


def install(model, batch_size: int) -> int:
    """Make ``model`` (compiled) train data-parallel when it can; returns the slices per batch (1: not)."""
    if why_not(model) is not None:
        return 1
    import jax

    devices = jax.devices("cpu")
    n = slices_for(batch_size, len(devices))
    if n < 2:
        return 1

    def make_train_function(force: bool = False):
        if model.train_function is not None and not force:
            return
        model.train_function = SlicedTrainStep(model, devices[:n])

    model.make_train_function = make_train_function
    model.train_function = None
    return n


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
        k = min(len(self.devices), max(1, n // MIN_SLICE)) if n >= 2 else 1
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
        logs, state = self.step(state, next(iterator))
        try:
            for _ in range(self.spe - 1):
                logs, state = self.step(state, next(iterator))
        except StopIteration:
            pass
        return logs, state
