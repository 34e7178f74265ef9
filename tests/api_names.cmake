# ltc_api_names(OUT_VAR HEADER): every function declared LTC_API in the header, in order.
# Used by the tests that must cover the whole public API (docs/api.md, the bad-input table).
function(ltc_api_names outvar header)
  file(READ "${header}" text)
  string(REGEX MATCHALL "LTC_API[^;(]*[ *](ltc_[a-z0-9_]+)\\(" decls "${text}")
  set(names "")
  foreach(d IN LISTS decls)
    string(REGEX REPLACE ".*[ *](ltc_[a-z0-9_]+)\\($" "\\1" n "${d}")
    list(APPEND names ${n})
  endforeach()
  set(${outvar} ${names} PARENT_SCOPE)
endfunction()
