# Unit tests of lk_yaml and lk_config (included from common/CMakeLists.txt).
add_executable(test_config ${CMAKE_CURRENT_LIST_DIR}/test_config.c)
target_link_libraries(test_config PRIVATE lookout_common PkgConfig::CMOCKA)
add_test(NAME common_config COMMAND test_config)
