# ingest/intake.cmake — the ecosystem intake: Alertmanager API v2 and webhook, PagerDuty
# Events v2. The parsers (pure) are a library of their own with their unit tests; the
# handlers join lookout-ingest. Included from ingest/CMakeLists.txt after lookout_ingest.
add_library(lookout_intake STATIC
  ${CMAKE_CURRENT_LIST_DIR}/intake_util.c
  ${CMAKE_CURRENT_LIST_DIR}/intake_keys.c
  ${CMAKE_CURRENT_LIST_DIR}/alert_parse_prometheus.c
  ${CMAKE_CURRENT_LIST_DIR}/alert_parse_pagerduty.c)
target_include_directories(lookout_intake PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(lookout_intake PUBLIC lookout_edge lookout_common PkgConfig::JANSSON)

target_sources(lookout_ingest PRIVATE ${CMAKE_CURRENT_LIST_DIR}/handlers_intake.c)
target_link_libraries(lookout_ingest PUBLIC lookout_intake)

add_executable(ingest_test_intake_parse ${CMAKE_CURRENT_LIST_DIR}/test_intake_parse.c)
target_link_libraries(ingest_test_intake_parse PRIVATE lookout_intake PkgConfig::CMOCKA)
add_test(NAME ingest_intake_parse COMMAND ingest_test_intake_parse)
