// GCC 12's AVX-512 headers start some intrinsics (conversions, unpacks,
// reductions) from a self-initialised "undefined" vector and then warn
// about it once inlined (GCC bug 105593). A kernel file that uses them
// includes this after <immintrin.h>: the pragmas hold to the end of that
// file. Internal to kernels/cpu.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
