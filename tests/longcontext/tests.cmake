# ctest's -L and -LE take regular expressions, so the area label "longcontext" would match the
# soak-test label "long" that scripts/test.sh leaves out (-LE long): this area's tests carry the
# label "context" instead ("context;long" for long_*.cpp, which stay out of the default run).
get_property(latte_all_tests DIRECTORY PROPERTY TESTS)
foreach(test IN LISTS latte_all_tests)
  if(test MATCHES "^longcontext_")
    get_test_property(${test} LABELS labels)
    list(TRANSFORM labels REPLACE "^longcontext$" "context")
    set_tests_properties(${test} PROPERTIES LABELS "${labels}")
  endif()
endforeach()
