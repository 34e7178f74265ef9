/* Tiny shared libraries that break loading: built as is, a wrong "libc10.so" (none of LibTorch's symbols)
 * and libltc_gone.so.1; with LTC_NEEDS_GONE, a library that needs libltc_gone.so.1 (tests/check_cuda.cmake). */
#ifdef LTC_NEEDS_GONE
int ltc_gone_marker(void);
int ltc_needs_gone_marker(void) { return ltc_gone_marker(); }
#else
int ltc_gone_marker(void) { return 0; }
#endif
