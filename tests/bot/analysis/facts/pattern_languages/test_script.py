"""The JavaScript and TypeScript declaration patterns."""

from __future__ import annotations

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import Param
from bot.analysis.facts.pattern_languages import read_definitions
from tests.bot.analysis.facts.pattern_languages.reading import named, read

TS_PATCH = """\
@@ -12,14 +12,15 @@ import { Transport } from "./transport";

 export interface ClientOptions {
   baseUrl: string;
   retries?: number;
 }

 export class Client {
   #token: string | null = null;

   constructor(private readonly transport: Transport, options: ClientOptions) {
     this.options = options;
   }

-  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
+  async request<T>(path: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<T> {
     const res = await this.transport.send(path, init);
@@ -40,9 +41,9 @@ export class Client {
     return res.json();
   }

   private _log(msg: string) {
-    console.log(msg);
+    console.debug(msg);
   }
   #reset() {
     this.#token = null;
   }
 }
@@ -60,9 +61,9 @@ export class Client {

 export const createClient = (
   baseUrl: string,
-  retries = 3,
+  retries = 5,
 ) =>
   new Client(defaultTransport, { baseUrl, retries });

 const total = (a + b) * 2;
 function helper(a, b) {
"""


def test_typescript_class_methods_and_their_visibility() -> None:
    head, body, _ = read("src/api/client.ts", TS_PATCH)
    assert head.new["ClientOptions"].kind == "class" and head.new["ClientOptions"].public
    assert head.new["Client"].kind == "class" and head.new["Client"].params is None
    constructor = head.new["Client.constructor"]
    assert constructor.kind == "method" and constructor.public and not constructor.touched
    assert constructor.params == (
        Param("transport", None, "Transport"),
        Param("options", None, "ClientOptions"),
    )
    request = head.new["Client.request"]
    assert request.touched and head.old["Client.request"].touched
    assert request.params == (
        Param("path", None, "string"),
        Param("init", "{}", "RequestInit"),
        Param("timeoutMs", "30_000"),
    )
    assert request.signature == (
        "async request<T>(path: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<T>"
    )
    assert body.section == "export class Client {"
    assert set(body.new) == {"Client._log", "Client.#reset"}
    assert not body.new["Client._log"].public and not body.new["Client.#reset"].public
    assert not body.new["Client._log"].touched  # only its body changed


def test_a_default_changed_inside_a_multi_line_signature_touches_both_sides() -> None:
    *_, arrow = read("src/api/client.ts", TS_PATCH)
    before, after = arrow.old["createClient"], arrow.new["createClient"]
    assert before.kind == "function" and before.public
    assert before.touched and after.touched
    assert before.params == (Param("baseUrl", None, "string"), Param("retries", "3"))
    assert after.params == (Param("baseUrl", None, "string"), Param("retries", "5"))
    assert "total" not in arrow.new  # `(a + b) * 2` is no parameter list
    assert not arrow.new["helper"].public and not arrow.new["helper"].touched


def test_javascript_functions_arrows_and_exports() -> None:
    patch = (
        "@@ -1,8 +1,9 @@\n"
        " export default function debounce(fn, wait = 100) {\n"
        "   let t;\n"
        "   return (...args) => {\n"
        "     clearTimeout(t);\n"
        "-    t = setTimeout(() => fn(...args), wait);\n"
        "+    t = setTimeout(() => fn.apply(this, args), wait);\n"
        "   };\n"
        " }\n"
        "+export const once = fn => fn;\n"
        "+export async function* pages(url, { size = 50 } = {}) {}\n"
    )
    (utils,) = read("web/utils.js", patch)
    debounce = utils.new["debounce"]
    assert debounce.public and not debounce.touched
    assert debounce.params == (Param("fn"), Param("wait", "100"))
    assert utils.new["once"].params == (Param("fn"),) and utils.new["once"].touched
    assert utils.new["pages"].params == (Param("url"), Param("{ size = 50 }", "{}"))
    assert set(utils.old) == {"debounce"}


def test_functions_and_anonymous_classes_inside_bodies_are_not_public() -> None:
    js = Side(
        [
            "export function outer(a) {",
            "  function inner(b) {",
            "    return b;",
            "  }",
            "  return inner(a);",
            "}",
        ],
        {1},
    )
    found = named(read_definitions(js, "", "lib.js"))
    assert found["outer"].public and not found["inner"].public and found["inner"].touched
    java = Side(
        [
            "    call.enqueue(new Callback<String>() {",
            "      @Override public void onResponse(Call<String> call, Response<String> r) {",
            "        latch.countDown();",
            "      }",
            "    });",
        ],
        set(),
    )
    (callback,) = read_definitions(java, "public final class CallTest {", "CallTest.java")
    assert callback.name == "onResponse" and not callback.public


def test_calls_inside_a_method_body_are_not_methods() -> None:
    side = Side(
        ["    validate(items);", "    this.save(items, {", "      force: true,", "    });"],
        {0},
    )
    assert read_definitions(side, "export class Store {", "store.ts") == []
