"""One training process of tests/training/test_distributed.py: ``python distributed_worker.py CONFIG.json OUT.json``
trains with the TrainConfig fields of CONFIG.json and writes each step's losses, the last step and the
exported model to OUT.json. SR4RS_TEST_CPUS=N first splits the CPU into N logical devices (replicas of
``--strategy mirrored`` on a machine without GPUs)."""
import json
import os
import sys


def main(config_path: str, out_path: str) -> None:
    cpus = int(os.environ.get("SR4RS_TEST_CPUS", "0"))
    if cpus:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpus)
    from sr4rs.api import TrainConfig, train

    with open(config_path, encoding="utf-8") as f:
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in json.load(f).items()}
    losses = []
    result = train(TrainConfig(**fields), on_step=lambda phase, epoch, i, n, logs: losses.append(logs))
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"losses": losses, "step": result.step, "savedmodel": result.savedmodel}, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
