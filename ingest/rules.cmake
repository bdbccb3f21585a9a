# lookout-rules: alert rules evaluated against a Prometheus-compatible query API
# (included from ingest/CMakeLists.txt).
add_library(lookout_rules STATIC ${CMAKE_CURRENT_LIST_DIR}/rules.c
  ${CMAKE_CURRENT_LIST_DIR}/rules_template.c)
target_include_directories(lookout_rules PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(lookout_rules PUBLIC lookout_common PkgConfig::CURL m)

add_executable(lookout-rules ${CMAKE_CURRENT_LIST_DIR}/rules_main.c)
target_link_libraries(lookout-rules PRIVATE lookout_rules)
lookout_daemon(lookout-rules)
install(TARGETS lookout-rules RUNTIME DESTINATION bin)

# Unit tests, and end to end against a real Prometheus (Debian package `prometheus`, started
# by the test, which fails when it cannot) delivering into the real correlate and store.
add_executable(test_rules ${CMAKE_CURRENT_LIST_DIR}/test_rules.c)
target_link_libraries(test_rules PRIVATE
  lookout_rules lookout_correlate lookout_store PkgConfig::CURL PkgConfig::CMOCKA)
target_compile_definitions(test_rules PRIVATE
  RULES_EXAMPLE_CONFIG="${CMAKE_CURRENT_LIST_DIR}/../config/lookout.example.yaml")
add_test(NAME ingest_rules COMMAND test_rules)
set_tests_properties(ingest_rules PROPERTIES TIMEOUT 180)
