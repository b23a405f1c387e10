# The CLI tests run the real latte-generate executable.
if(TARGET cli_test_generate AND TARGET latte-generate)
  add_dependencies(cli_test_generate latte-generate)
  target_compile_definitions(cli_test_generate PRIVATE LATTE_GENERATE="$<TARGET_FILE:latte-generate>")
endif()
