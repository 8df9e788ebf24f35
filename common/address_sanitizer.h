#pragma once
// BATCHQ_ASAN is 1 in a translation unit built with AddressSanitizer, by GCC (which
// defines __SANITIZE_ADDRESS__) or by clang (which answers __has_feature instead), and
// undefined otherwise.

#if defined(__SANITIZE_ADDRESS__)
#define BATCHQ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BATCHQ_ASAN 1
#endif
#endif
