#!/usr/bin/env python3
"""The whole-protocol comparison of one sitting (written by run-sitting.sh): for each protocol,
TensorFlow's SUMMARY line (protocol-NAME-tf.txt) beside Synapse's run (protocol-NAME-synapse.json,
the tool's own <method>.json, and protocol-NAME-synapse.txt for the process wall time), and the
ratio of wall times (Synapse / TensorFlow: below 1 is faster).

Both protocol times leave out reading the data files and include evaluation after every task:
TensorFlow's script evaluates the tasks seen so far, as does Synapse with --evaluate seen (the
paired runs). The extra row "split-cifar10, --evaluate all" is Synapse's default (the whole
accuracy matrix, unseen tasks included) against the same TensorFlow run.
Images/s over the whole run = training images / protocol seconds; both sides train on the same
images (same class split, same epochs), so TensorFlow's count (its img/s × its seconds) serves both.

Usage: protocol_ratios.py SITTING_DIR
"""
import json, os, re, sys

BARS = {"split-mnist": (0.7, 0.4), "split-cifar10": (1.0, 0.8)}  # issue's bar and goal (ratio of times)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: protocol_ratios.py SITTING_DIR")
    out = sys.argv[1]
    print("| protocol (fine-tuning) | TensorFlow s | Synapse s | Synapse / TF time | images/s TF | images/s Synapse "
          "| avg acc TF | avg acc Synapse | bar / goal | verdict |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = [(name, name, f"{name} (seen tasks, as TF)") for name in BARS] + \
        [("split-cifar10", "split-cifar10-all", "split-cifar10, --evaluate all (Synapse's default)")]
    for name, ours_name, label in rows:
        bar, goal = BARS[name]
        tf_path = os.path.join(out, f"protocol-{name}-tf.txt")
        ours_path = os.path.join(out, f"protocol-{ours_name}-synapse.json")
        if not (os.path.exists(tf_path) and os.path.exists(ours_path)):
            print(f"| {label} | missing: {tf_path if not os.path.exists(tf_path) else ours_path} | | | | | | | | |")
            continue
        text = open(tf_path).read()
        m = re.search(r"SUMMARY tf-protocol \S+ epochs=(\d+) seconds=([\d.]+) train_img_per_s=(\d+) avg_acc=([\d.]+)", text)
        if not m:
            print(f"| {label} | no SUMMARY line in {tf_path} | | | | | | | | |")
            continue
        tf_seconds, tf_rate, tf_acc = float(m.group(2)), float(m.group(3)), float(m.group(4))
        images = tf_rate * tf_seconds
        ours = json.load(open(ours_path))
        seconds = float(ours["seconds"])
        acc = ours.get("average_accuracy")
        ratio = seconds / tf_seconds
        verdict = "goal met" if ratio <= goal else "bar met" if ratio <= bar else "NOT met"
        print(f"| {label} | {tf_seconds:.1f} | {seconds:.1f} | **{ratio:.2f}×** | {tf_rate:.0f} | {images / seconds:.0f} "
              f"| {tf_acc:.4f} | {acc if acc is None else format(acc, '.4f')} | ≤ {bar}× / ≤ {goal}× | {verdict} |")
    for name in list(BARS) + ["split-cifar10-all"]:
        for side in ("tf", "synapse"):
            path = os.path.join(out, f"protocol-{name}-{side}.txt")
            if os.path.exists(path):
                lines = [l for l in open(path).read().splitlines() if l.startswith("process wall")]
                if lines:
                    print(f"{name} {side}: {lines[-1]}")


main()
