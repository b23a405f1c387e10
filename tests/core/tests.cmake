# The exhaustive conversion sweep splits the 2^32 floats between OpenMP threads.
if(TARGET core_test_conversions_exhaustive AND OpenMP_CXX_FOUND)
  target_link_libraries(core_test_conversions_exhaustive PRIVATE OpenMP::OpenMP_CXX)
endif()
if(TEST core_test_conversions_exhaustive)
  set_tests_properties(core_test_conversions_exhaustive PROPERTIES PROCESSORS 2)
endif()
