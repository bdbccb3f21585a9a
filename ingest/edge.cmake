# ingest/edge.cmake — the pure parts of the HTTP edge: authentication (auth.c) and native
# alert intake validation (alert_parse.c), as a library so lookout-ingest and the unit tests
# link the same code. Included from ingest/CMakeLists.txt.
add_library(lookout_edge STATIC
  ${CMAKE_CURRENT_LIST_DIR}/auth.c
  ${CMAKE_CURRENT_LIST_DIR}/alert_parse.c)
target_include_directories(lookout_edge PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(lookout_edge PUBLIC lookout_common PkgConfig::JANSSON PkgConfig::OPENSSL)

add_executable(ingest_test_auth ${CMAKE_CURRENT_LIST_DIR}/test_auth.c)
target_link_libraries(ingest_test_auth PRIVATE lookout_edge PkgConfig::CMOCKA PkgConfig::OPENSSL)
add_test(NAME ingest_auth COMMAND ingest_test_auth)

add_executable(ingest_test_alert_parse ${CMAKE_CURRENT_LIST_DIR}/test_alert_parse.c)
target_link_libraries(ingest_test_alert_parse PRIVATE lookout_edge PkgConfig::CMOCKA)
add_test(NAME ingest_alert_parse COMMAND ingest_test_alert_parse)
