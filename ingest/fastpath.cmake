# ingest/fastpath.cmake — the hot path of POST /api/v2/alerts: the Alertmanager API v2 body
# read without a jansson document (alert_parse_fast.h), and its differential test against
# the general parser. Included from ingest/CMakeLists.txt after intake.cmake.
target_sources(lookout_intake PRIVATE ${CMAKE_CURRENT_LIST_DIR}/alert_parse_fast.c)

add_executable(ingest_test_alert_parse_fast ${CMAKE_CURRENT_LIST_DIR}/test_alert_parse_fast.c)
target_link_libraries(ingest_test_alert_parse_fast PRIVATE lookout_intake PkgConfig::CMOCKA)
add_test(NAME ingest_alert_parse_fast COMMAND ingest_test_alert_parse_fast)
