"""Tags against the real server: tag moves and deletes with their custody-log
events (and none for failed pushes), tags/list and _catalog pagination."""
import re
import threading
import unittest
import urllib.parse

from harness import ServerTestCase, sha256
from oci_fixtures import (OCI_INDEX, OCI_MANIFEST, descriptor, dumps, event_count, events, image_manifest,
                          index_manifest, last_seq, manifest_rows, put, tag_rows)

LINK = re.compile(r'^<([^>]+)>; rel="next"$')


class TagEventsTest(ServerTestCase):
    """Every tag change is an event in the same transaction as the change."""

    def push(self, repo, ref, seed):
        body = dumps(image_manifest(self.server, repo, seed=seed))
        r, d = put(self.server, repo, ref, body, OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        return body, d

    def assertEvent(self, e, action, repo, digest, tag, detail):
        self.assertEqual((e["action"], e["repository"], e["digest"], e["tag"]), (action, repo, digest, tag), e)
        for k, v in detail.items():
            self.assertEqual(e["detail"].get(k), v, e)
        self.assertEqual(e["actor"], "anonymous")
        self.assertEqual(e["auth"], "none")
        self.assertTrue(e["source"].startswith("127.0.0.1"), e)
        self.assertGreater(e["time_ms"], 1_600_000_000_000)

    def test_push_writes_manifest_push_and_tag_set(self):
        repo = "events/push"
        body = dumps(image_manifest(self.server, repo, seed="one"))
        seq = last_seq(self.server)
        r, d = put(self.server, repo, "v1", body, OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        evs = events(self.server, seq)
        self.assertEqual([e["action"] for e in evs], ["manifest.push", "tag.set"])
        self.assertEvent(evs[0], "manifest.push", repo, d, "v1", {"media_type": OCI_MANIFEST, "size": len(body)})
        self.assertEvent(evs[1], "tag.set", repo, d, "v1", {"before": None, "after": d})
        self.assertLess(evs[0]["seq"], evs[1]["seq"])

    def test_push_by_digest_writes_only_manifest_push(self):
        repo = "events/by-digest"
        body = dumps(image_manifest(self.server, repo, seed="untagged"))
        seq = last_seq(self.server)
        r, d = put(self.server, repo, sha256(body), body, OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        evs = events(self.server, seq)
        self.assertEqual(len(evs), 1, evs)
        self.assertEvent(evs[0], "manifest.push", repo, d, "", {"media_type": OCI_MANIFEST})
        self.assertEqual(tag_rows(self.server, repo), {})

    def test_tag_moves(self):
        repo = "events/move"
        body_a, a = self.push(repo, "latest", "a")
        body_b = dumps(image_manifest(self.server, repo, seed="b"))
        seq = last_seq(self.server)
        r, b = put(self.server, repo, "latest", body_b, OCI_MANIFEST)
        self.assertEqual(r.status, 201, r)
        evs = events(self.server, seq)
        self.assertEqual([e["action"] for e in evs], ["manifest.push", "tag.set"])
        self.assertEvent(evs[1], "tag.set", repo, b, "latest", {"before": a, "after": b})

        r = self.req("GET", f"/v2/{repo}/manifests/latest")
        self.assertEqual((r.status, r.body, r.header("Docker-Content-Digest")), (200, body_b, b))
        self.assertEqual(self.req("GET", f"/v2/{repo}/manifests/{a}").body, body_a)
        self.assertEqual(self.req("GET", f"/v2/{repo}/tags/list").json(), {"name": repo, "tags": ["latest"]})

        # Back to a manifest that already exists: only the tag moves.
        seq = last_seq(self.server)
        self.assertEqual(put(self.server, repo, "latest", body_a, OCI_MANIFEST)[0].status, 201)
        evs = events(self.server, seq)
        self.assertEqual(len(evs), 1, evs)
        self.assertEvent(evs[0], "tag.set", repo, a, "latest", {"before": b, "after": a})
        self.assertEqual(self.req("GET", f"/v2/{repo}/manifests/latest").body, body_a)

        # Pushing the same bytes to the same tag again changes nothing.
        seq = last_seq(self.server)
        self.assertEqual(put(self.server, repo, "latest", body_a, OCI_MANIFEST)[0].status, 201)
        self.assertEqual(events(self.server, seq), [])

        # A second tag on the same manifest is a tag.set of its own.
        seq = last_seq(self.server)
        self.assertEqual(put(self.server, repo, "stable", body_a, OCI_MANIFEST)[0].status, 201)
        evs = events(self.server, seq)
        self.assertEqual(len(evs), 1, evs)
        self.assertEvent(evs[0], "tag.set", repo, a, "stable", {"before": None, "after": a})
        self.assertEqual(tag_rows(self.server, repo), {"latest": a, "stable": a})

    def test_tag_delete_event(self):
        repo = "events/tag-delete"
        body, d = self.push(repo, "v1", "x")
        self.assertEqual(put(self.server, repo, "v2", body, OCI_MANIFEST)[0].status, 201)
        seq = last_seq(self.server)
        r = self.req("DELETE", f"/v2/{repo}/manifests/v1")
        self.assertEqual(r.status, 202, r)
        evs = events(self.server, seq)
        self.assertEqual(len(evs), 1, evs)
        self.assertEvent(evs[0], "tag.delete", repo, d, "v1", {"before": d})
        self.assertEqual(tag_rows(self.server, repo), {"v2": d})
        self.assertEqual(self.req("GET", f"/v2/{repo}/manifests/{d}").status, 200)

        # Unknown tag: 404 and no event.
        seq = last_seq(self.server)
        r = self.req("DELETE", f"/v2/{repo}/manifests/v1")
        self.assertError(r, 404, "MANIFEST_UNKNOWN")
        self.assertEqual(events(self.server, seq), [])

    def test_manifest_delete_event(self):
        repo = "events/manifest-delete"
        body, d = self.push(repo, "b-tag", "x")
        self.assertEqual(put(self.server, repo, "a-tag", body, OCI_MANIFEST)[0].status, 201)
        keep_body, keep = self.push(repo, "other", "y")
        seq = last_seq(self.server)
        r = self.req("DELETE", f"/v2/{repo}/manifests/{d}")
        self.assertEqual(r.status, 202, r)
        evs = events(self.server, seq)
        self.assertEqual(len(evs), 1, evs)
        self.assertEvent(evs[0], "manifest.delete", repo, d, "", {"tags": ["a-tag", "b-tag"]})
        self.assertEqual(tag_rows(self.server, repo), {"other": keep})
        self.assertEqual(self.req("GET", f"/v2/{repo}/tags/list").json()["tags"], ["other"])
        self.assertEqual(manifest_rows(self.server, repo, d), 0)
        self.assertEqual(self.req("GET", f"/v2/{repo}/manifests/{d}").status, 404)

        seq = last_seq(self.server)
        self.assertError(self.req("DELETE", f"/v2/{repo}/manifests/{d}"), 404, "MANIFEST_UNKNOWN")
        self.assertEqual(events(self.server, seq), [])

    def test_concurrent_tag_moves_chain_in_the_log(self):
        repo = "events/race"
        bodies = [dumps(image_manifest(self.server, repo, seed=f"race {i}")) for i in range(8)]
        seq = last_seq(self.server)
        statuses = []

        def push(body):
            statuses.append(put(self.server, repo, "hot", body, OCI_MANIFEST)[0].status)

        threads = [threading.Thread(target=push, args=(b,)) for b in bodies * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses, [201] * len(threads))
        evs = events(self.server, seq)
        pushed = sorted(e["digest"] for e in evs if e["action"] == "manifest.push")
        self.assertEqual(pushed, sorted(sha256(b) for b in bodies))
        # The tag.set events form one unbroken chain ending at the tag's target.
        before = None
        for e in (e for e in evs if e["action"] == "tag.set"):
            self.assertEqual(e["detail"]["before"], before, evs)
            self.assertNotEqual(e["detail"]["after"], before)
            self.assertEqual(e["digest"], e["detail"]["after"])
            before = e["detail"]["after"]
        self.assertEqual(tag_rows(self.server, repo), {"hot": before})
        self.assertEqual(self.req("GET", f"/v2/{repo}/manifests/hot").header("Docker-Content-Digest"), before)

    def assertNothingWritten(self, repo, ref, body, content_type, status, code, tags_before):
        count = event_count(self.server)
        r, d = put(self.server, repo, ref, body, content_type)
        self.assertError(r, status, code)
        self.assertEqual(event_count(self.server), count)
        self.assertEqual(manifest_rows(self.server, repo, sha256(body)), 0)
        self.assertEqual(tag_rows(self.server, repo), tags_before)

    def test_failed_pushes_write_nothing(self):
        repo = "events/failures"
        good_body, good = self.push(repo, "latest", "good")
        tags = {"latest": good}

        missing_layer = image_manifest(self.server, repo, seed="missing")
        missing_layer["layers"].append(descriptor("application/vnd.oci.image.layer.v1.tar+gzip", b"never pushed"))
        self.assertNothingWritten(repo, "latest", dumps(missing_layer), OCI_MANIFEST, 400, "MANIFEST_BLOB_UNKNOWN",
                                  tags)
        self.assertNothingWritten(repo, "new-tag", dumps(missing_layer), OCI_MANIFEST, 400,
                                  "MANIFEST_BLOB_UNKNOWN", tags)

        ghost_child = dumps(image_manifest(self.server, repo, seed="ghost child"))
        index = dumps(index_manifest([(OCI_MANIFEST, good_body), (OCI_MANIFEST, ghost_child)]))
        self.assertNothingWritten(repo, "latest", index, OCI_INDEX, 400, "MANIFEST_BLOB_UNKNOWN", tags)

        wrong_size = image_manifest(self.server, repo, seed="sized")
        wrong_size["config"]["size"] += 1
        self.assertNothingWritten(repo, "latest", dumps(wrong_size), OCI_MANIFEST, 400, "MANIFEST_INVALID", tags)

        self.assertNothingWritten(repo, "latest", b'{"schemaVersion":2', OCI_MANIFEST, 400, "MANIFEST_INVALID",
                                  tags)

        valid = dumps(image_manifest(self.server, repo, seed="valid but misaddressed"))
        self.assertNothingWritten(repo, sha256(valid + b"\n"), valid, OCI_MANIFEST, 400, "DIGEST_INVALID", tags)

        # Nothing moved: latest still serves the good manifest.
        r = self.req("GET", f"/v2/{repo}/manifests/latest")
        self.assertEqual((r.status, r.body), (200, good_body))

    def test_failed_push_to_new_repository_creates_nothing(self):
        repo = "events/ghost-repo"
        m = image_manifest(self.server, "events/elsewhere", seed="elsewhere")
        count = event_count(self.server)
        r, d = put(self.server, repo, "v1", dumps(m), OCI_MANIFEST)
        self.assertError(r, 400, "MANIFEST_BLOB_UNKNOWN")
        self.assertEqual(event_count(self.server), count)
        self.assertError(self.req("GET", f"/v2/{repo}/tags/list"), 404, "NAME_UNKNOWN")
        self.assertNotIn(repo, self.req("GET", "/v2/_catalog").json()["repositories"])


class PagingCase(ServerTestCase):
    """Helpers to walk a paginated listing through its Link headers."""

    def page(self, path, key):
        r = self.req("GET", path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json")
        link = r.header("Link")
        nxt = None
        if link is not None:
            m = LINK.match(link)
            self.assertIsNotNone(m, link)
            nxt = m.group(1)
        return r.json()[key], nxt

    def walk(self, path, key):
        """Follows Link headers from `path`; returns the pages."""
        pages = []
        while path is not None:
            items, path = self.page(path, key)
            pages.append(items)
            self.assertLess(len(pages), 200, "pagination does not end")
        return pages

    def check_pagination(self, base, key, everything):
        """Checks n/last paging of a listing whose full content is `everything`."""
        self.assertEqual(self.page(base, key), (everything, None))
        total = len(everything)
        for n in (1, 2, 3, total - 1, total, total + 1, 10 ** 6):
            with self.subTest(n=n):
                pages = self.walk(f"{base}?n={n}", key)
                self.assertEqual([x for p in pages for x in p], everything)
                for p in pages[:-1]:
                    self.assertEqual(len(p), n)
                self.assertTrue(0 < len(pages[-1]) <= n)
                # A Link only while more remain: n == total is one page, no Link.
                self.assertEqual(len(pages), -(-total // n))
                first, link = self.page(f"{base}?n={n}", key)
                if n < total:
                    q = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
                    self.assertEqual(urllib.parse.urlsplit(link).path, base)
                    self.assertEqual(q, {"n": [str(n)], "last": [first[-1]]})
        # `last` alone, `last` between entries, `last` beyond the end.
        for i, item in enumerate(everything):
            last = urllib.parse.quote(item, safe="")
            self.assertEqual(self.page(f"{base}?last={last}", key), (everything[i + 1:], None))
        self.assertEqual(self.page(f"{base}?last={urllib.parse.quote(everything[0] + '0')}", key)[0],
                         [x for x in everything if x > everything[0] + "0"])
        self.assertEqual(self.page(f"{base}?n=2&last=~", key), ([], None))
        # n=0: an empty list and no Link.
        self.assertEqual(self.page(f"{base}?n=0", key), ([], None))
        self.assertEqual(self.page(f"{base}?n=0&last={everything[0]}", key), ([], None))
        for bad in ("-1", "abc", "1.5", "0x10", "1e3", "99999999999999999999999", "%20"):
            with self.subTest(n=bad):
                self.assertError(self.req("GET", f"{base}?n={bad}"), 400, "PAGINATION_NUMBER_INVALID")


class TagsListTest(PagingCase):
    repo = "list/app"
    tags = ["1.0", "1.0.1", "10", "2", "A", "Latest", "_under", "latest", "v1-rc", "v1.0", "v1_0", "z" * 128]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.body = dumps(image_manifest(cls.server, cls.repo))
        for tag in reversed(cls.tags):
            assert put(cls.server, cls.repo, tag, cls.body, OCI_MANIFEST)[0].status == 201

    def test_sorted(self):
        r = self.req("GET", f"/v2/{self.repo}/tags/list")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"name": self.repo, "tags": sorted(self.tags)})
        self.assertIsNone(r.header("Link"))
        self.assertEqual(r.header("Content-Type"), "application/json")

    def test_pagination(self):
        self.check_pagination(f"/v2/{self.repo}/tags/list", "tags", sorted(self.tags))

    def test_head(self):
        r = self.req("HEAD", f"/v2/{self.repo}/tags/list?n=1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.assertIsNotNone(r.header("Link"))

    def test_repository_without_tags(self):
        repo = "list/untagged"
        body = dumps(image_manifest(self.server, repo))
        self.assertEqual(put(self.server, repo, sha256(body), body, OCI_MANIFEST)[0].status, 201)
        self.assertEqual(self.page(f"/v2/{repo}/tags/list", "tags"), ([], None))
        self.assertEqual(self.page(f"/v2/{repo}/tags/list?n=5", "tags"), ([], None))
        blobs_only = "list/blobs-only"
        self.server.push_blob(blobs_only, b"just a blob")
        r = self.req("GET", f"/v2/{blobs_only}/tags/list")
        self.assertEqual((r.status, r.json()), (200, {"name": blobs_only, "tags": []}))

    def test_unknown_and_invalid_repository(self):
        self.assertError(self.req("GET", "/v2/list/nothing/tags/list"), 404, "NAME_UNKNOWN")
        self.assertError(self.req("GET", "/v2/list/nothing/tags/list?n=1"), 404, "NAME_UNKNOWN")
        self.assertError(self.req("GET", "/v2/List/App/tags/list"), 400, "NAME_INVALID")

    def test_method_not_allowed(self):
        self.assertError(self.req("DELETE", f"/v2/{self.repo}/tags/list"), 405, "UNSUPPORTED")


class CatalogTest(PagingCase):
    repos = ["cat/a", "cat/a-b", "cat/a/b", "cat/a/b/c", "cat/b", "cat/b.c", "cat/b_c", "cat/z9"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for repo in reversed(cls.repos):
            cls.server.push_blob(repo, b"catalog entry " + repo.encode())

    def test_sorted(self):
        r = self.req("GET", "/v2/_catalog")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"repositories": sorted(self.repos)})
        self.assertIsNone(r.header("Link"))

    def test_pagination(self):
        self.check_pagination("/v2/_catalog", "repositories", sorted(self.repos))


class CappedPageSizeTest(PagingCase):
    """page_size_max caps n (and the default page) and pagination carries on."""

    config = "[limits]\npage_size_max = 5\n"
    repo = "capped/app"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.body = dumps(image_manifest(cls.server, cls.repo))
        cls.tags = sorted(f"t{i:02d}" for i in range(12))
        for tag in cls.tags:
            assert put(cls.server, cls.repo, tag, cls.body, OCI_MANIFEST)[0].status == 201
        cls.repos = sorted([cls.repo] + [f"capped/r{i}" for i in range(6)])
        for repo in cls.repos[1:]:
            cls.server.push_blob(repo, repo.encode())

    def check_capped(self, base, key, everything):
        for query in ("", "?n=5", "?n=6", "?n=1000", "?n=99999999"):
            with self.subTest(query=query):
                items, link = self.page(base + query, key)
                self.assertEqual(items, everything[:5])
                self.assertEqual(link, f"{base}?n=5&last={urllib.parse.quote(everything[4])}")
                pages = self.walk(base + query, key)
                self.assertEqual([len(p) for p in pages], [5] * (len(everything) // 5) +
                                 ([len(everything) % 5] if len(everything) % 5 else []))
                self.assertEqual([x for p in pages for x in p], everything)
        items, link = self.page(f"{base}?n=3", key)
        self.assertEqual(items, everything[:3])
        self.assertEqual(link, f"{base}?n=3&last={urllib.parse.quote(everything[2])}")

    def test_tags_capped(self):
        self.check_capped(f"/v2/{self.repo}/tags/list", "tags", self.tags)
        self.assertEqual(self.page(f"/v2/{self.repo}/tags/list?n=5&last=t06", "tags"),
                         (self.tags[7:12], None))

    def test_catalog_capped(self):
        self.check_capped("/v2/_catalog", "repositories", self.repos)

    def test_pagination_under_the_cap(self):
        repo = "capped/small"
        body = dumps(image_manifest(self.server, repo, seed="small"))
        tags = ["a", "b", "c", "d"]
        for tag in tags:
            self.assertEqual(put(self.server, repo, tag, body, OCI_MANIFEST)[0].status, 201)
        self.check_pagination(f"/v2/{repo}/tags/list", "tags", tags)


if __name__ == "__main__":
    unittest.main()
