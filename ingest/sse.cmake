# GET /events (sse.c): the hub in-process against the real store, read with libcurl.
add_executable(ingest_test_sse test_sse.c)
target_link_libraries(ingest_test_sse PRIVATE
  lookout_ingest lookout_store lookout_testing PkgConfig::CURL PkgConfig::CMOCKA Threads::Threads)
add_test(NAME ingest_sse COMMAND ingest_test_sse)
set_tests_properties(ingest_sse PROPERTIES TIMEOUT 120)
