#!/usr/bin/env python3
"""Write small pprof profiles of the cases real ones seldom show, for
tests/gopprof.sh to hold cprof report to go tool pprof on them:

  long.pb.gz   a function named by 3,000 characters (a C++ template's)
  zero.pb.gz   a diff whose edges add up to zero (pprof::base samples)
  huge.pb.gz   byte values near 2^61, whose products overflow int64
  wide.pb.gz   20,000 leaf functions under main (quadratic loops show)
  empty.pb.gz  sample types and nothing else: no sample, location or mapping
  drop.pb.gz   drop_frames and keep_frames: allocator frames pprof prunes, a
               C++ name matched without its parameters, a location of
               inlined frames cut beneath, a kept one, a dropped root, a
               name longer than any buffer

Usage: edgeprofiles.py DIR. The encoder is profile.proto's wire format:
varints and length-delimited fields, gzipped."""
import gzip
import os
import sys


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b, n = n & 0x7f, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def vi(f, n):
    return varint(f << 3) + varint(n)


def ld(f, b):
    return varint(f << 3 | 2) + varint(len(b)) + b


class Profile:
    def __init__(self, *types):
        self.strings, self.index, self.body = [""], {"": 0}, b""
        for t, u in types:
            self.body += ld(1, vi(1, self.s(t)) + vi(2, self.s(u)))

    def s(self, x):
        if x not in self.index:
            self.index[x] = len(self.strings)
            self.strings.append(x)
        return self.index[x]

    def sample(self, locs, values, labels=()):
        lb = b"".join(ld(3, vi(1, self.s(k)) + vi(2, self.s(v))) for k, v in labels)
        self.body += ld(2, ld(1, b"".join(map(varint, locs))) +
                        ld(2, b"".join(map(varint, values))) + lb)

    def mapping(self, id, start, limit, file):
        self.body += ld(3, vi(1, id) + vi(2, start) + vi(3, limit) + vi(5, self.s(file)) +
                        vi(7, 1) + vi(8, 1) + vi(9, 1))

    def function(self, id, name, file, start=1):
        self.body += ld(5, vi(1, id) + vi(2, self.s(name)) + vi(3, self.s(name)) +
                        vi(4, self.s(file)) + vi(5, start))

    def location(self, id, mapping, addr, fid, line):
        self.body += ld(4, vi(1, id) + (vi(2, mapping) if mapping else b"") + vi(3, addr) +
                        ld(4, vi(1, fid) + vi(2, line)))

    def frames(self, drop, keep):
        self.body += vi(7, self.s(drop)) + vi(8, self.s(keep))

    def location_lines(self, id, addr, lines):
        self.body += ld(4, vi(1, id) + vi(3, addr) +
                        b"".join(ld(4, vi(1, f) + vi(2, n)) for f, n in lines))

    def write(self, path):
        body = self.body + b"".join(ld(6, x.encode()) for x in self.strings)
        with open(path, "wb") as f:
            f.write(gzip.compress(body))


def main(out):
    p = Profile(("samples", "count"), ("cpu", "nanoseconds"))
    p.mapping(1, 0x400000, 0x500000, "/bin/x")
    p.function(1, "main", "/src/m.c")
    p.function(2, "f<" + "A" * 3000 + ">", "/src/l.c", 10)
    p.location(1, 1, 0x401000, 2, 12)
    p.location(2, 1, 0x402000, 1, 5)
    p.sample([1, 2], [3, 3000000])
    p.write(os.path.join(out, "long.pb.gz"))

    p = Profile(("cpu", "nanoseconds"))
    for i, n in enumerate(["main", "a", "b", "c"]):
        p.function(i + 1, n, "/d.c")
        p.location(i + 1, 0, 0x1000 * (i + 1), i + 1, 3)
    p.sample([3, 2, 1], [100])
    p.sample([3, 2, 1], [-100], [("pprof::base", "true")])
    p.sample([4, 2, 1], [50])
    p.sample([4, 2, 1], [-20], [("pprof::base", "true")])
    p.write(os.path.join(out, "zero.pb.gz"))

    p = Profile(("space", "bytes"))
    for i, n in enumerate(["main", "big", "bigger"]):
        p.function(i + 1, n, "/h.c")
        p.location(i + 1, 0, 0x1000 * (i + 1), i + 1, 3)
    p.sample([2, 1], [1 << 61])
    p.sample([3, 1], [(1 << 61) - 5])
    p.write(os.path.join(out, "huge.pb.gz"))

    p = Profile(("samples", "count"))
    p.function(1, "main", "/w.c")
    p.location(1, 0, 0x1000, 1, 3)
    for i in range(2, 20002):
        p.function(i, f"leaf{i:05d}", "/w.c", i)
        p.location(i, 0, 0x1000 * i, i, i + 1)
        p.sample([i, 1], [1 + i % 7])
    p.write(os.path.join(out, "wide.pb.gz"))

    Profile(("samples", "count"), ("cpu", "nanoseconds")).write(os.path.join(out, "empty.pb.gz"))

    p = Profile(("alloc_space", "bytes"))
    names = ["main", "worker", "malloc", "tc_alloc_slow", "operator new(unsigned long)",
             "grow", "calloc", "inner_alloc", "caller", "pool<" + "A" * 1500 + ">::alloc"]
    for i, n in enumerate(names):
        p.function(i + 1, n, "/a.cc")
        if n != "inner_alloc":
            p.location(i + 1 if i < 9 else 11, 0, 0x1000 * (i + 1), i + 1, 7)
    # inner_alloc inlined into malloc inlined into caller: cut beneath malloc
    p.location_lines(10, 0xa000, [(8, 3), (3, 4), (9, 5)])
    p.frames(".*alloc|tc_.*|operator new", "calloc")
    p.sample([3, 2, 1], [100])        # malloc <- worker <- main
    p.sample([4, 3, 2, 1], [200])     # tc_alloc_slow <- malloc <- ...
    p.sample([6, 5, 2, 1], [400])     # grow <- operator new(unsigned long) <- ...
    p.sample([7, 2, 1], [800])        # calloc, kept
    p.sample([10, 2, 1], [1600])      # the inlined location
    p.sample([2, 3], [3200])          # worker <- malloc as the root: stays
    p.sample([11, 6, 2, 1], [6400])   # a 1,500-character name, matched whole
    p.write(os.path.join(out, "drop.pb.gz"))


if __name__ == "__main__":
    main(sys.argv[1])
