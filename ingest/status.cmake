# ingest/status.cmake — public status pages and incident updates (handlers_status.c,
# status_service.c, status_model.c) with the page's HTML embedded at build time from
# status_page.html. Included from ingest/CMakeLists.txt after lookout_ingest.
set(STATUS_PAGE_HTML ${CMAKE_CURRENT_LIST_DIR}/status_page.html)
set(STATUS_PAGE_HTML_C ${CMAKE_CURRENT_BINARY_DIR}/status_page_html.c)
add_custom_command(
  OUTPUT ${STATUS_PAGE_HTML_C}
  COMMAND ${CMAKE_COMMAND}
    -DINPUT=${STATUS_PAGE_HTML}
    -DOUTPUT=${STATUS_PAGE_HTML_C}
    -DSYMBOL=status_page_html
    -P ${CMAKE_CURRENT_LIST_DIR}/embed_file.cmake
  DEPENDS ${STATUS_PAGE_HTML} ${CMAKE_CURRENT_LIST_DIR}/embed_file.cmake
  COMMENT "Embedding the status page"
  VERBATIM)

target_sources(lookout_ingest PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/status_model.c
  ${CMAKE_CURRENT_LIST_DIR}/status_service.c
  ${CMAKE_CURRENT_LIST_DIR}/handlers_status.c
  ${STATUS_PAGE_HTML_C})
target_link_libraries(lookout_ingest PUBLIC m)

# Statuses, uptime, the public JSON, ETags and the "changed" stream filter (pure).
add_executable(test_status_model ${CMAKE_CURRENT_LIST_DIR}/test_status_model.c)
target_link_libraries(test_status_model PRIVATE lookout_ingest PkgConfig::CMOCKA)
add_test(NAME ingest_status_model COMMAND test_status_model)
