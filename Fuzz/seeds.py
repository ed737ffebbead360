"""Writes a few valid inputs for a fuzz target into a corpus folder (Fuzz/run.sh calls it)."""
import gzip, os, random, struct, sys

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
