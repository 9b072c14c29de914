"""The Rust declaration patterns."""

from __future__ import annotations

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import Param
from bot.analysis.facts.pattern_languages import read_definitions
from tests.bot.analysis.facts.pattern_languages.reading import named, names, read

RUST_PATCH = """\
@@ -40,12 +40,14 @@ pub struct Pool<T> {
 }

 impl<T: Send + 'static> Pool<T> {
-    pub fn new(size: usize) -> Self {
+    pub fn new(size: usize, name: &str) -> Self {
         Self { size, items: Vec::new() }
     }

     #[inline]
-    pub(crate) fn take(&mut self) -> Option<T> {
+    pub(crate) fn take(
+        &mut self,
+        timeout: Duration,
+    ) -> Option<T> {
         self.items.pop()
     }
 }
@@ -80,6 +82,10 @@ impl<T> Drop for Pool<T> {
     fn drop(&mut self) {
         self.items.clear();
     }
 }
+
+pub trait Recycle {
+    fn recycle(&mut self, depth: u32);
+}
@@ -120,7 +126,7 @@ impl<T: Send + 'static> Pool<T> {
         let n = self.items.len();
         n
     }
-    fn grow(&mut self, by: usize) {
+    fn grow(&mut self, by: usize, limit: usize) {
         self.size += by;
     }
"""


def test_rust_impl_methods_visibility_and_receivers() -> None:
    impl, _, _ = read("src/pool.rs", RUST_PATCH)
    new, take = impl.new["Pool::new"], impl.new["Pool::take"]
    assert new.kind == "method" and new.public and new.touched
    assert new.params == (Param("size", None, "usize"), Param("name", None, "&str"))
    assert not take.public  # pub(crate)
    assert take.params == (Param("self", None, "&mut Self"), Param("timeout", None, "Duration"))
    assert take.signature == "pub(crate) fn take( &mut self, timeout: Duration, ) -> Option<T>"
    assert impl.old["Pool::take"].params == (Param("self", None, "&mut Self"),)


def test_rust_an_attribute_line_is_part_of_the_signature_span() -> None:
    patch = (
        "@@ -1,4 +1,4 @@ impl Pool {\n"
        "-    #[inline]\n"
        "+    #[inline(always)]\n"
        "     pub fn len(&self) -> usize {\n"
        "         self.items.len()\n"
        "     }\n"
    )
    (impl,) = read("src/pool.rs", patch)
    assert impl.old["Pool::len"].touched and impl.new["Pool::len"].touched


def test_rust_trait_impls_traits_and_the_header_impl() -> None:
    _, traits, header = read("src/pool.rs", RUST_PATCH)
    assert traits.old["Pool::drop"].public  # a trait impl's method is as public as the trait
    assert not traits.old["Pool::drop"].touched
    assert traits.new["Recycle"].kind == "class" and traits.new["Recycle"].public
    recycle = traits.new["Recycle::recycle"]
    assert recycle.kind == "method" and recycle.public and recycle.touched
    assert recycle.signature == "fn recycle(&mut self, depth: u32)"
    assert header.section == "impl<T: Send + 'static> Pool<T> {"
    assert names(header.new["Pool::grow"]) == ["self", "by", "limit"]
    assert not header.new["Pool::grow"].public


def test_rust_generics_where_clauses_and_records() -> None:
    side = Side(
        [
            "#[derive(Debug, Clone)]",
            "pub struct Entry<T> {",
            "    value: T,",
            "}",
            "pub enum Mode { Fast, Safe }",
            "pub type Result<T> = std::result::Result<T, Error>;",
            "pub fn parse<'a, F: Fn(i32) -> i32>(input: &'a str, f: F) -> Vec<u8>",
            "where",
            "    F: Clone,",
            "{",
            "    todo!()",
            "}",
        ],
        {0},
    )
    found = named(read_definitions(side, "", "src/lib.rs"))
    assert {name: d.kind for name, d in found.items()} == {
        "Entry": "class",
        "Mode": "class",
        "Result": "type",
        "parse": "function",
    }
    assert found["Entry"].touched  # through its attribute line
    assert found["parse"].params == (Param("input", None, "&'a str"), Param("f", None, "F"))
    assert found["parse"].signature == (
        "pub fn parse<'a, F: Fn(i32) -> i32>(input: &'a str, f: F) -> Vec<u8> where F: Clone,"
    )


def test_rust_a_list_cut_by_the_end_of_the_hunk() -> None:
    side = Side(["pub fn connect(", "    host: &str,", "    port: u16,"], {2})
    (connect,) = read_definitions(side, "", "src/net.rs")
    assert connect.name == "connect" and connect.params is None and connect.touched


def test_rust_impl_headers_split_over_lines_and_unnamed_impl_targets() -> None:
    patch = (
        "@@ -277,7 +277,7 @@ impl<T> ToValue for Option<T>\n"
        " where\n"
        "     T: ToValue,\n"
        " {\n"
        "-    fn to_value(&self) -> Value {\n"
        "+    fn to_value(&self) -> Value<'_> {\n"
        "         match *self {\n"
        "@@ -300,5 +300,5 @@ mod std_support {\n"
        " impl ToValue for () {\n"
        "-    fn to_value(&self) -> Value {\n"
        "+    fn to_value(&self) -> Value<'_> {\n"
        "         Value::from_inner(())\n"
        "     }\n"
        " }\n"
        "@@ -410,4 +410,4 @@ mod std_support {\n"
        "     }\n"
        "-    fn to_value(&self) -> Value {\n"
        "+    fn to_value(&self) -> Value<'_> {\n"
        "         Value::from_inner(self.0)\n"
    )
    option, unit, unseen = read("src/kv/value.rs", patch)
    assert option.new["Option::to_value"].touched and option.new["Option::to_value"].public
    assert unit.new["ToValue::to_value"].kind == "method"  # `()` has no name: the trait's
    # an `impl` the hunk does not show: a method by its `self`, owner unknown
    assert unseen.new["to_value"].kind == "method"
