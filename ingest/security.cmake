# ingest/security.cmake — per-tenant ingest tokens, intake rate limits (included from
# ingest/CMakeLists.txt after lookout_ingest).

# The pure token functions (format, hash, scopes), shared with the fuzz targets.
add_library(lookout_ingest_token STATIC ${CMAKE_CURRENT_LIST_DIR}/ingest_token.c)
target_include_directories(lookout_ingest_token PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(lookout_ingest_token PUBLIC PkgConfig::OPENSSL)
target_link_libraries(lookout_ingest PUBLIC lookout_ingest_token)

# The request path: the token cache and endpoints, per-tenant rate limits, the intake guard.
target_sources(lookout_ingest PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/tokens.c
  ${CMAKE_CURRENT_LIST_DIR}/handlers_tokens.c
  ${CMAKE_CURRENT_LIST_DIR}/rate_limit.c
  ${CMAKE_CURRENT_LIST_DIR}/intake_guard.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_guard.c)

# Unit tests of the above (token text and hashing, buckets, the cache, the connection guard).
add_executable(ingest_test_security ${CMAKE_CURRENT_LIST_DIR}/test_security.c)
target_link_libraries(ingest_test_security PRIVATE lookout_ingest PkgConfig::CMOCKA)
add_test(NAME ingest_security COMMAND ingest_test_security)
set_tests_properties(ingest_security PROPERTIES TIMEOUT 60)
