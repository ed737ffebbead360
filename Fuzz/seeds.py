"""Writes a few valid inputs for a fuzz target into a corpus folder (Fuzz/run.sh calls it)."""
import gzip, hashlib, json, os, random, struct, sys

target, folder = sys.argv[1], sys.argv[2]
rng = random.Random(0)
def pixels(n): return bytes(rng.randrange(256) for _ in range(n))
def put(name, data):
    with open(os.path.join(folder, "seed-" + name), "wb") as f: f.write(data)

if target == "cifar10":
    put("one", bytes([3]) + pixels(3072))
    put("two", bytes([9]) + pixels(3072) + bytes([0]) + pixels(3072))
    put("names", b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
elif target == "cifar100":
    put("one", bytes([4, 23]) + pixels(3072))
    put("two", bytes([19, 99]) + pixels(3072) + bytes([0, 0]) + pixels(3072))
elif target == "idx":
    count, rows, cols = 3, 4, 5
    images = bytes([0, 0, 8, 3]) + struct.pack(">III", count, rows, cols) + pixels(count * rows * cols)
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", count) + bytes([1, 7, 9])
    for name, a, b in [("plain", images, labels), ("gzip", gzip.compress(images), gzip.compress(labels)),
                       ("mixed", gzip.compress(images), labels)]:
        put(name, struct.pack(">H", len(a)) + a + b)
elif target == "checkpoint":
    # A small checkpoint as the tool writes it: four-element tensors, metadata from a real run
    # (checkpoint-seed-metadata.json), and both SHA-256 digests computed as CheckpointIntegrity does.
    def quoted(text): return json.dumps(text, ensure_ascii=False)
    def checkpoint(tensors, metadata):
        data = b"".join(struct.pack("<%df" % len(v), *v) for _, v in tensors)
        metadata = dict(metadata, tensor_sha256=hashlib.sha256(data).hexdigest())
        canonical = "tensors:" + ",".join(quoted(n) + "[%d]" % len(v) for n, v in tensors)
        for key in sorted(metadata):
            canonical += "\n" + quoted(key) + ":" + quoted(metadata[key])
        metadata["metadata_sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
        header, offset = {}, 0
        for name, values in tensors:
            header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [offset, offset + 4 * len(values)]}
            offset += 4 * len(values)
        header["__metadata__"] = metadata
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        text += b" " * ((8 - (8 + len(text)) % 8) % 8)
        return struct.pack("<Q", len(text)) + text + data
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoint-seed-metadata.json")) as f:
        metadata = json.load(f)
    names = ["adam.m", "adam.v", "anchor", "importance", "omega", "theta"]
    healthy = [(n, [abs(rng.uniform(-1, 1)) if n in ("adam.v", "importance") else rng.uniform(-1, 1) for _ in range(4)])
               for n in names]
    put("valid", checkpoint(healthy, metadata))
    put("nan", checkpoint([(n, [float("nan")] + v[1:]) if n == "theta" else (n, v) for n, v in healthy], metadata))
