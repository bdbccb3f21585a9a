# ingest/metrics.cmake — lookout-ingest's metrics (ingest_metrics.c) and GET /metrics on the
# API port (handlers_metrics.c). Included from ingest/CMakeLists.txt after lookout_ingest.
target_sources(lookout_ingest PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ingest_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/handlers_metrics.c)
target_link_libraries(lookout_ingest PUBLIC PkgConfig::OPENSSL)
