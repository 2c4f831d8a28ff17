"""An independent Python check of the custody log's Merkle tree: RFC 6962 /
RFC 9162 hashing, tree heads, and inclusion and consistency proof
verification (RFC 9162 §2.1.3.2 and §2.1.4.2), plus the C2SP formats the
log serves (checkpoint text, entry bundles, hash tiles). Nothing here
shares code with the C++ side, so agreement means something."""
import base64
import hashlib


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_head(leaves):
    """MTH over a list of leaf hashes (RFC 9162 §2.1.1)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(tree_head(leaves[:k]), tree_head(leaves[k:]))


def verify_inclusion(index, size, leaf, proof, root) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size, new_size, old_root, new_root, proof) -> bool:
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0 or old_size > new_size or not proof and old_size & (old_size - 1):
        return False
    if old_size & (old_size - 1) == 0:  # an exact power of 2: the old root starts the path
        proof = [old_root] + list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def parse_checkpoint(note: str):
    """(origin, size, root bytes) from a signed checkpoint note."""
    lines = note.split("\n")
    return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)


def decode_entry_bundle(data: bytes):
    out, i = [], 0
    while i < len(data):
        n = int.from_bytes(data[i:i + 2], "big")
        out.append(data[i + 2:i + 2 + n])
        i += 2 + n
    assert i == len(data), "truncated entry bundle"
    return out


def decode_tile(data: bytes):
    assert len(data) % 32 == 0, "a tile is whole hashes"
    return [data[i:i + 32] for i in range(0, len(data), 32)]


def proof_hashes(values):
    return [base64.b64decode(v, validate=True) for v in values]


def tampered(proof):
    """Every single-hash corruption, a dropped hash and an extra hash."""
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        yield bad
    if proof:
        yield proof[:-1]
    yield list(proof) + [b"\x00" * 32]
