"""The Java and Kotlin declaration patterns."""

from __future__ import annotations

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import Param
from bot.analysis.facts.pattern_languages import read_definitions
from tests.bot.analysis.facts.pattern_languages.reading import named, read

JAVA_PATCH = """\
@@ -30,12 +30,13 @@ public class OrderService {
     private final OrderRepository repository;

     @Autowired
     public OrderService(OrderRepository repository) {
         this.repository = repository;
     }

     @Transactional
-    public Order place(Customer customer, List<Item> items) throws ValidationException {
+    public Order place(Customer customer, List<Item> items, Map<String, String> meta)
+            throws ValidationException {
         validate(items);
         return repository.save(new Order(customer, items));
     }

     private void validate(final List<Item> items, String... tags) {
"""


def test_java_methods_and_constructors_of_the_header_class() -> None:
    (service,) = read("src/main/java/com/acme/OrderService.java", JAVA_PATCH)
    assert set(service.new) == {
        "OrderService.OrderService",
        "OrderService.place",
        "OrderService.validate",
    }
    constructor = service.new["OrderService.OrderService"]
    assert constructor.public and not constructor.touched
    place = service.new["OrderService.place"]
    assert place.kind == "method" and place.public and place.touched
    assert place.params == (
        Param("customer", None, "Customer"),
        Param("items", None, "List<Item>"),
        Param("meta", None, "Map<String, String>"),
    )
    assert place.signature.endswith("Map<String, String> meta) throws ValidationException")
    validate = service.new["OrderService.validate"]
    assert not validate.public and not validate.touched  # its body runs past the hunk
    assert validate.params == (
        Param("items", None, "List<Item>"),  # `final` is no part of the type
        Param("tags", None, "String..."),
    )


def test_java_annotations_count_in_the_signature_span_and_interfaces_are_public() -> None:
    side = Side(
        [
            "public interface Repository<T> {",
            "    @Deprecated",
            "    T find(long id);",
            "    void save(T item, boolean flush);",
            "}",
        ],
        {1},
    )
    found = named(read_definitions(side, "", "Repository.java"))
    assert found["Repository"].kind == "class" and found["Repository"].public
    assert found["Repository.find"].touched and not found["Repository.save"].touched
    assert found["Repository.find"].public and found["Repository.save"].public
    assert found["Repository.save"].params == (
        Param("item", None, "T"),
        Param("flush", None, "boolean"),
    )


KOTLIN_PATCH = """\
@@ -10,10 +10,11 @@ class UserRepository(private val db: Database) {
     fun find(id: Long): User? = db.query(id)

-    suspend fun save(user: User, replace: Boolean = false): Long {
+    suspend fun save(user: User, replace: Boolean = true): Long {
         return db.insert(user, replace)
     }

     internal fun count(): Int = db.count()
+
+    companion object {
+        fun create(db: Database) = UserRepository(db)
+    }
 }
+fun String.shout(vararg marks: Char): String = uppercase()
"""


def test_kotlin_functions_defaults_visibility_and_companions() -> None:
    (repository,) = read("app/src/main/kotlin/Repo.kt", KOTLIN_PATCH)
    before, after = repository.old["UserRepository.save"], repository.new["UserRepository.save"]
    assert before.touched and after.touched
    assert before.params == (Param("user", None, "User"), Param("replace", "false", "Boolean"))
    assert after.params == (Param("user", None, "User"), Param("replace", "true", "Boolean"))
    assert after.signature == "suspend fun save(user: User, replace: Boolean = true): Long"
    assert repository.new["UserRepository.find"].signature == "fun find(id: Long): User?"
    assert not repository.new["UserRepository.count"].public  # internal
    assert repository.new["UserRepository.create"].kind == "method"
    shout = repository.new["String.shout"]
    assert shout.kind == "function" and shout.public
    assert shout.params == (Param("marks", None, "Char"),)
