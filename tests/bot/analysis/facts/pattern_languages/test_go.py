"""The Go declaration patterns."""

from __future__ import annotations

from bot.analysis.facts.definitions import Param
from tests.bot.analysis.facts.pattern_languages.reading import names, read

GO_PATCH = """\
@@ -20,11 +20,12 @@ type Cache[K comparable, V any] struct {
 \titems map[K]*entry[V]
 }

-// Get returns the value for key.
-func (c *Cache[K, V]) Get(key K) (V, bool) {
+// Get returns the value for key, refreshing its position.
+func (c *Cache[K, V]) Get(key K) (v V, ok bool) {
 \tc.mu.Lock()
 \tdefer c.mu.Unlock()
 \te, ok := c.items[key]
 \tif !ok {
 \t\treturn v, false
@@ -60,8 +61,8 @@ func (c *Cache[K, V]) evict() {
 \tc.order.Remove(e)
 }

 func newEntry[V any](value V,
-\tttl time.Duration) *entry[V] {
+\tttl, grace time.Duration, now func() time.Time) *entry[V] {
 \treturn &entry[V]{value: value}
 }
@@ -90,6 +91,8 @@ type Store interface {
 \tLoad(ctx context.Context, key string) ([]byte, error)
-\tSave(ctx context.Context, key string, value []byte) error
+\tSave(ctx context.Context, key string, value []byte, opts ...SaveOption) error
+\tDelete(ctx context.Context, key string) error
 }

 func (s *store) Close() error {
@@ -100,5 +103,6 @@ type (
 \tOption func(*Cache)
 \tstats  struct {
 \t\thits int
 \t}
+\tKey = string
 )
"""


def test_go_methods_functions_and_shared_parameter_types() -> None:
    method, function, _, _ = read("pkg/cache/lru.go", GO_PATCH)
    before, after = method.old["Cache.Get"], method.new["Cache.Get"]
    assert before.kind == "method" and before.public
    assert before.touched and after.touched  # only the results changed
    assert before.params == after.params == (Param("key", None, "K"),)
    assert after.signature == "func (c *Cache[K, V]) Get(key K) (v V, ok bool)"
    entry = function.new["newEntry"]
    assert entry.kind == "function" and not entry.public and entry.touched
    assert entry.params == (
        Param("value", None, "V"),
        Param("ttl", None, "time.Duration"),
        Param("grace", None, "time.Duration"),
        Param("now", None, "func() time.Time"),
    )
    assert not function.old["newEntry"].public


def test_go_interface_methods_belong_to_the_interface_the_header_names() -> None:
    _, _, interface, _ = read("pkg/cache/lru.go", GO_PATCH)
    assert interface.section == "type Store interface {"
    assert set(interface.old) == {"Store.Load", "Store.Save", "store.Close"}
    assert set(interface.new) == {"Store.Load", "Store.Save", "Store.Delete", "store.Close"}
    assert not interface.new["Store.Load"].touched
    assert interface.new["Store.Delete"].touched
    save = interface.new["Store.Save"]
    assert save.params is not None and save.params[-1] == Param("opts", None, "...SaveOption")
    assert not interface.new["store.Close"].public  # an unexported receiver type


def test_go_type_specs_inside_a_type_group() -> None:
    *_, group = read("pkg/cache/lru.go", GO_PATCH)
    assert group.section == "type ("
    kinds = {name: (d.kind, d.public, d.touched) for name, d in group.new.items()}
    assert kinds == {
        "Option": ("type", True, False),
        "stats": ("class", False, False),
        "Key": ("type", True, True),
    }


def test_go_partial_parameter_list_named_by_the_header() -> None:
    patch = (
        "@@ -10,6 +10,7 @@ func (s *Server) Handle(ctx context.Context,\n"
        " \treq *Request,\n"
        "-\ttimeout time.Duration,\n"
        "+\ttimeout, grace time.Duration,\n"
        " ) (*Response, error) {\n"
        " \treturn nil, nil\n"
        " }\n"
    )
    (handle,) = read("server.go", patch)
    before, after = handle.old["Server.Handle"], handle.new["Server.Handle"]
    assert before.partial and after.partial and before.touched and after.touched
    assert names(before) == ["req", "timeout"]
    assert names(after) == ["req", "timeout", "grace"]
    assert after.signature == (
        "func (s *Server) Handle(…, req *Request, timeout, grace time.Duration)"
    )


def test_go_calls_in_a_body_are_not_definitions() -> None:
    patch = (
        "@@ -1,5 +1,5 @@ func run() error {\n"
        " \tx := compute(a,\n"
        "-\t\tb)\n"
        "+\t\tc)\n"
        ' \tlog.Printf("%d", x)\n'
        " \treturn process(x)\n"
    )
    (body,) = read("main.go", patch)
    assert body.old == {} and body.new == {}
